#include "proxy/session/splice_relay.hpp"

#include "net/read_readiness.hpp"
#include "net/splice_pipe.hpp"

#include <algorithm>

namespace sluice::proxy {

namespace {

// The pipe in use, back to the worker's pool when the relay ends (closed if it still holds
// bytes: a relay that failed half-way).
struct pipe_lease {
    net::pipe_pool& pool;
    net::splice_pipe pipe = pool.take();
    ~pipe_lease() { pool.give_back(std::move(pipe)); }
};

void note_failure(relay_result& r, relay_result::failure f, error_code ec, bool timed_out)
{
    r.failed = f;
    r.ec = ec;
    r.timed_out = timed_out;
}

// Waits until `side`'s socket can be read (or written), within its timeout: a deadline that
// passed while the relay was moving bytes is honoured here, as no wait was under way to cancel.
awaitable<bool> wait_for(relay_side& side, bool write, relay_result& r)
{
    const auto failure = write ? relay_result::failure::write : relay_result::failure::read;
    if (side.deadline.expired()) {
        note_failure(r, failure, asio::error::operation_aborted, true);
        co_return false;
    }
    side.deadline.arm(side.timeout);
    error_code ec;
    if (write)
        std::tie(ec) = co_await side.stream.socket.async_wait(socket_type::wait_write, use_tuple);
    else
        std::tie(ec) = co_await net::wait_readable(side.stream.socket);
    side.deadline.disarm();
    if (ec) note_failure(r, failure, ec, side.deadline.expired());
    co_return !ec;
}

}  // namespace

bool can_splice(const worker& w, const relay_side& from, const relay_side& to, bool chunked,
                std::uint64_t length)
{
    return w.pipes.on() && !chunked && length >= worker::relay_buffer_size && !from.stream.tls &&
           !to.stream.tls && !to.backlog;
}

// Fills the pipe while `from` has bytes and the pipe has room, drains it while `to` takes them;
// when neither can move, waits for the side that holds things up: the writer when bytes wait in
// the pipe (so a slow client slows the server down, as a full relay buffer does), else the reader.
awaitable<void> splice_body(worker& w, relay_side& from, relay_side& to, std::uint64_t length,
                            relay_result& r, std::function<void()>& on_read_done)
{
    pipe_lease lease{w.pipes};
    auto& pipe = lease.pipe;
    if (!pipe.valid()) {
        note_failure(r, relay_result::failure::read, asio::error::no_descriptors, false);
        co_return;
    }
    const int in = from.stream.socket.native_handle(), out = to.stream.socket.native_handle();
    bool can_read = net::may_have_bytes(from.stream.socket), can_write = true;
    while (length > 0 || pipe.held() > 0) {
        error_code ec;
        if (can_read && length > 0 && pipe.held() < pipe.capacity()) {
            const auto room = std::min<std::uint64_t>(length, pipe.capacity() - pipe.held());
            const auto n = pipe.fill(in, static_cast<std::size_t>(room), ec);
            if (ec == asio::error::would_block) {
                net::saw_empty(from.stream.socket);
                can_read = false;
            } else if (ec || n == 0) {  // reset, or the server closed before its whole body
                note_failure(r, relay_result::failure::read, ec ? ec : http::error::partial_message,
                             false);
                co_return;
            }
            r.bytes_read += n;
            length -= n;
            if (length == 0 && on_read_done) std::exchange(on_read_done, nullptr)();
        }
        if (can_write && pipe.held() > 0) {
            const auto n = pipe.drain(out, pipe.held(), length > 0, ec);
            if (ec == asio::error::would_block) {
                can_write = false;
            } else if (ec) {
                note_failure(r, relay_result::failure::write, ec, false);
                co_return;
            }
            r.bytes_written += n;
        }
        const bool reading = can_read && length > 0 && pipe.held() < pipe.capacity();
        if (reading || (can_write && pipe.held() > 0)) continue;
        if (pipe.held() > 0) {
            if (!co_await wait_for(to, true, r)) co_return;
            can_write = true;
        } else {
            if (!co_await wait_for(from, false, r)) co_return;
            can_read = true;
        }
    }
}

}  // namespace sluice::proxy
