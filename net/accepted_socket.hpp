#pragma once
// A connection the listener accepted itself, with accept4(SOCK_NONBLOCK): Asio gets it as a bare
// descriptor, and is told here what accept4 already made true, so that no syscall repeats it.

#include "net/io_types.hpp"

namespace sluice::net {

// Records that `s` is non-blocking (asking for it again costs no ioctl) and that no other
// descriptor shares it (its close leaves epoll by itself, without an epoll_ctl). Only for a
// descriptor from accept4(..., SOCK_NONBLOCK) that nothing else holds (or one such released
// from its socket and assigned again, as the idle_set does).
void adopt_accepted(socket_type& s);

}  // namespace sluice::net
