#pragma once
// Reads that cost no failed recv(2). Asio's epoll reactor starts every read with a recv at once
// (a "speculative" read) and waits for epoll only when that fails. On a keep-alive connection
// the read of the next message starts just after the previous exchange, before the peer can
// have sent anything, so half of all recv calls returned EAGAIN. HAProxy avoids them as this
// file does: a read that returns less than it asked for has emptied the socket, and until epoll
// reports the socket again another read would fail. Epoll is edge-triggered, and the reactor
// sets its per-socket "read at once" flag on every event; clearing it right after a socket was
// seen empty, before the event loop polls again, makes the next read wait for epoll without a
// recv (and without the epoll_ctl that async_wait costs).
//
// A short read is proof of an empty socket only when the peer has not shut down its side: its
// FIN may wait behind the bytes just read, with no further event to come. So the flag is
// cleared only for sockets whose epoll registration reports that shutdown (EPOLLRDHUP,
// watch_peer_shutdown), when the last event did not, and only at the end of a message: a read
// in the middle of one (a body, a head cut in two) keeps the reactor's own recv at once.

#include "net/io_types.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/system/error_code.hpp>

#include <cstddef>
#include <tuple>

namespace sluice::net {

// Reads what has arrived, without waiting, and without a syscall when the socket is known to
// be empty; `ec` is would_block when the caller must wait (async_read_some). `s` is served by
// an event loop on this thread.
std::size_t read_arrived(socket_type& s, boost::asio::mutable_buffer into,
                         boost::system::error_code& ec);

// Whether a read of `s` may find bytes without waiting for epoll: the reactor has reported the
// socket since a read last found it empty (true where that is not known).
bool may_have_bytes(socket_type& s);
// Waits until epoll reports `s` readable, or at once when may_have_bytes(s); as
// s.async_wait(wait_read), but without the epoll_ctl that costs on every wait (the reactor's
// edge-triggered registration of the socket reports readability already).
awaitable<std::tuple<boost::system::error_code>> wait_readable(socket_type& s);

// A read of `s` made outside the reactor (net/io_ring.hpp) found it empty: the next read waits
// for epoll.
void saw_empty(socket_type& s);

// At the end of a message, when nothing has run the event loop since its last read: if that
// read emptied the socket (`emptied`: it returned less than it asked for), the next read waits
// for epoll without a recv.
void note_message_end(socket_type& s, bool emptied);

// Has epoll report the peer's shutdown on `s` (one epoll_ctl, once per connection), which
// note_message_end needs before it trusts a short read.
void watch_peer_shutdown(socket_type& s);

}  // namespace sluice::net
