#pragma once
// The rest of a body whose length is known, moved from one plain socket to another through a
// pipe (net/splice_pipe.hpp): its bytes never enter the proxy. Internal to body_relay.

#include "proxy/session/body_relay.hpp"

#include "net/splice_pipe.hpp"

#include <functional>

namespace sluice::proxy {

// Whether a body of `length` bytes still to come can move from `from` to `to` by splice(2):
// large enough to be worth a pipe, both sockets plain, nothing to frame and no backlog to keep.
bool can_splice(const net::pipe_pool& pipes, const relay_side& from, const relay_side& to,
                bool chunked, std::uint64_t length);

// Moves the next `length` bytes of `from` to `to` through `pipe` (valid, empty, from `pipes`,
// where it goes back after), each wait bounded by its side's timeout; calls on_read_done (when
// set) once the last byte has left `from`. Failures go into `r`.
awaitable<void> splice_body(net::pipe_pool& pipes, net::splice_pipe pipe, relay_side& from,
                            relay_side& to, std::uint64_t length, relay_result& r,
                            std::function<void()>& on_read_done);

}  // namespace sluice::proxy
