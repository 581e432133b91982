#pragma once
// The rest of a body whose length is known, moved from one plain socket to another through a
// pipe (net/splice_pipe.hpp): its bytes never enter the proxy. Internal to body_relay.

#include "proxy/session/body_relay.hpp"
#include "proxy/session/relay_backlog.hpp"

#include "net/splice_pipe.hpp"

#include <functional>
#include <optional>
#include <span>

namespace sluice::proxy {

// Whether a body of `length` bytes still to come can move from `from` to `to` by splice(2):
// large enough to be worth a pipe, both sockets plain and nothing to frame.
bool can_splice(const net::pipe_pool& pipes, const relay_side& from, const relay_side& to,
                bool chunked, std::uint64_t length);

// Moves the next `length` bytes of `from` to `to` through `pipe` (valid, empty, from `pipes`,
// where it goes back after), each wait bounded by its side's timeout; calls on_read_done (when
// set) once the last byte has left `from`. Failures go into `r`.
//
// With a backlog on `to` (response buffering), a client that stops taking bytes holds neither the
// server nor the pipe: the pipe's bytes and the rest of the body then go through `scratch` into
// `waiting`, read at the server's pace, as an unspliced body's would. So do they from the start
// when `waiting` already holds bytes (the head's piece), which go first.
awaitable<void> splice_body(net::pipe_pool& pipes, net::splice_pipe pipe, relay_side& from,
                            relay_side& to, std::uint64_t length, std::span<char> scratch,
                            std::optional<backlog>& waiting, relay_result& r,
                            read_done_fn& on_read_done);

}  // namespace sluice::proxy
