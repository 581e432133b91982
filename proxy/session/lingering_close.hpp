#pragma once
// After an answer that left before its request's end (a 413 for a body over the limit, a 431, a
// server that answered before reading the upload), the client may still be sending. Closing at
// once, with its bytes unread, makes the kernel send a reset; a client still writing its body
// (Python's http.client, for one) then fails with a broken pipe and never reads its answer. So
// sluice sends its FIN and reads and discards what comes, for a while, as NGINX's
// lingering_close does. Not after a 408: that client was too slow already, and a wait for it
// would only hold its connection longer.
//
// The same reset comes when a client sends more after a request that ends its connection (a
// pipelined request behind its own Connection: close), and it throws away what the socket has
// yet to send: the tail of a large response to a slow reader.

#include "net/io_types.hpp"

namespace sluice::proxy {

struct client_connection;
struct exchange;

// Whether a connection that closes after `x` lingers: its answer went out before the request's
// end, or the client has sent more since (asked of the kernel, one ioctl, only after a large
// response or when such bytes were read already).
bool needs_linger(client_connection& c, const exchange& x);

// Sends this side's end, then discards what the client sends until it closes, pauses for 5 s,
// 30 s have passed (NGINX's lingering_timeout and lingering_time), or a drain or the exit comes.
awaitable<void> linger(client_connection& c);

}  // namespace sluice::proxy
