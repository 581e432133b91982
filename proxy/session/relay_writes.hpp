#pragma once
// The relay's writes on a non-blocking socket: what it takes at once without a suspension, the
// rest within the writing side's timeout. Internal to body_relay and relay_backlog.

#include "proxy/session/body_relay.hpp"

#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_suffix.hpp>

namespace sluice::proxy {

// Notes a write that took `written` bytes at once; would_block (it took none) is no failure.
inline std::size_t note_written(error_code ec, std::size_t written, relay_result& r)
{
    if (ec && ec != asio::error::would_block) {
        r.failed = relay_result::failure::write;
        r.ec = ec;
        return 0;
    }
    r.bytes_written += written;
    return written;
}

// Writes what the socket takes at once, without a suspension: sockets are non-blocking
// (start_client_session, upstream_connection::connect), and a small message usually goes whole.
template <class Buffers>
std::size_t write_now(relay_side& to, const Buffers& buffers, relay_result& r)
{
    error_code ec;
    const auto written = net::write_now(to.stream, buffers, ec);
    return note_written(ec, written, r);
}

// Writes the rest of `buffers` after their first `written` bytes, and records that wait behind
// a TLS stream, within `to`'s timeout.
template <class Buffers>
awaitable<void> write_rest(relay_side& to, const Buffers& buffers, std::size_t written,
                           relay_result& r)
{
    beast::buffers_suffix<Buffers> rest(buffers);
    rest.consume(written);
    to.deadline.arm(to.timeout);
    auto [ec, n] = co_await net::write_all(to.stream, rest);
    to.deadline.disarm();
    r.bytes_written += n;
    if (ec) {
        r.failed = relay_result::failure::write;
        r.ec = ec;
        r.timed_out = to.deadline.expired();
    }
}

// Writes all of `buffers`; false after a failure noted in `r`.
template <class Buffers>
awaitable<bool> write_piece(relay_side& to, const Buffers& buffers, relay_result& r)
{
    const auto written = write_now(to, buffers, r);
    if (r.failed == relay_result::failure::none &&
        (written < asio::buffer_size(buffers) || !net::settled(to.stream)))
        co_await write_rest(to, buffers, written, r);
    co_return r.failed == relay_result::failure::none;
}

// Sends what waits behind a TLS stream (nothing does on a plain socket); false after a failure
// noted in `r`.
inline awaitable<bool> settle(relay_side& to, relay_result& r)
{
    if (!net::settled(to.stream)) co_await write_rest(to, asio::const_buffer{}, 0, r);
    co_return r.failed == relay_result::failure::none;
}

}  // namespace sluice::proxy
