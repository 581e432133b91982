#pragma once
// A connection the listener accepted itself, with accept4(SOCK_NONBLOCK): Asio gets it as a bare
// descriptor, and is told here what accept4 already made true, so that no syscall repeats it.
// And the one thing a client's connection is asked for later: an ACK at once.

#include "net/io_types.hpp"

namespace sluice::net {

// Records that `s` is non-blocking (asking for it again costs no ioctl) and that no other
// descriptor shares it (its close leaves epoll by itself, without an epoll_ctl). Only for a
// descriptor from accept4(..., SOCK_NONBLOCK) that nothing else holds (or one such released
// from its socket and assigned again, as the idle_set does).
void adopt_accepted(socket_type& s);

// Has the kernel acknowledge what `s` has received now, instead of holding the ACK up to 40 ms
// for the response to carry. For a message cut short of its end: a client with Nagle's algorithm
// on sends nothing more until its last segment is acknowledged, and on a kept-alive connection
// Linux delays that ACK (it has seen replies follow requests), so a client that writes a POST's
// head and body apart waited 40 ms a request. A no-op on a socket that is not TCP.
void acknowledge_now(socket_type& s);

}  // namespace sluice::net
