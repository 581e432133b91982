#pragma once
// A plain socket's read through its worker's ring (net/io_ring.hpp), so that the reads of a
// turn of the event loop leave in the same io_uring_enter(2) as its sends: the reactor only says
// when bytes are there (its epoll registration costs nothing per wait), and the recv itself is
// one non-blocking attempt in the turn's flush. Without a ring, the reactor reads, as before.
// Internal to the session.

#include "net/io_ring.hpp"
#include "net/io_types.hpp"
#include "net/stream_ref.hpp"
#include "proxy/runtime/deadline_sweeper.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/system/error_code.hpp>

#include <tuple>

namespace sluice::proxy {

// As socket_type::async_read_some: what has arrived once some has (eof when the peer has shut
// down its side), or operation_aborted when `d` expires first; through `ring` when it is on().
awaitable<std::tuple<boost::system::error_code, std::size_t>> read_in_turn(
    net::io_ring& ring, socket_type& s, const deadline& d, boost::asio::mutable_buffer into);

// A connection's read, a client's or a server's: through its TLS channel, which reads the socket
// itself, or else as read_in_turn. Not a coroutine: the caller awaits the one it picks.
inline awaitable<net::io_result> read_stream(net::io_ring& ring, net::stream_ref s,
                                             const deadline& d, boost::asio::mutable_buffer into)
{
    if (s.tls) return net::read_some(s, into);
    return read_in_turn(ring, s.socket, d, into);
}

}  // namespace sluice::proxy
