#include "proxy/session/splice_relay.hpp"

#include "net/read_readiness.hpp"
#include "net/receive_mark.hpp"
#include "net/splice_pipe.hpp"

#include <algorithm>

namespace sluice::proxy {

namespace {

// The pipe in use, back to the worker's pool when the relay ends (closed if it still holds
// bytes: a relay that failed half-way).
struct pipe_lease {
    net::pipe_pool& pool;
    net::splice_pipe pipe;
    ~pipe_lease() { pool.give_back(std::move(pipe)); }
};

void note_failure(relay_result& r, relay_result::failure f, error_code ec, bool timed_out)
{
    r.failed = f;
    r.ec = ec;
    r.timed_out = timed_out;
}

// Waits until `side`'s socket can be read (or written), within its timeout. The deadline is armed
// only while a wait is under way, so its expiry always has a wait to cancel.
awaitable<bool> wait_for(relay_side& side, bool write, relay_result& r)
{
    const auto failure = write ? relay_result::failure::write : relay_result::failure::read;
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

// How long a relay waits for a pipe-full from the server before it looks at what has come: in
// practice one or two of the deadline sweeper's ticks (20 ms).
constexpr clock::duration mark_patience = std::chrono::milliseconds(20);

// Waits until the server has sent `want` bytes (a pipe-full, or the rest of the body) or has
// ended, with the mark on its socket raised to `want`, for one patience. If part of that has come
// by then, the server is slower than the mark: the mark goes for good (`patient` false, and the
// connection remembers it) and its bytes are relayed as they come. If nothing has, the server is
// only pausing: this wait goes on for its first byte, and the next one raises the mark again. True
// when the caller should read; false after a failure noted in r.
awaitable<bool> wait_for_server(relay_side& from, net::receive_mark& mark, bool& patient,
                                std::size_t want, relay_result& r)
{
    if (!patient) co_return co_await wait_for(from, false, r);
    mark.set(static_cast<int>(want));
    from.deadline.arm(mark_patience);
    auto [ec] = co_await net::wait_readable(from.stream.socket);
    from.deadline.disarm();
    if (!ec) co_return true;
    if (!from.deadline.expired()) {
        note_failure(r, relay_result::failure::read, ec, false);
        co_return false;
    }
    mark.set(1);
    error_code unknown;  // counts as nothing waiting
    if (from.stream.socket.available(unknown) > 0) {
        patient = false;
        if (from.slow_sender) *from.slow_sender = true;
        co_return true;
    }
    co_return co_await wait_for(from, false, r);
}

// Response buffering's way out when the client stops taking bytes: what the pipe holds goes to
// the backlog and the pipe goes back to the pool (a slow client holds no pipe, whose pages count
// against the user's pipe quota even when empty); then the rest of the body is read into
// `scratch` and delivered (relay_backlog.hpp), so the server sends at its own pace and its slot
// is free at its last byte. Copying costs what an unspliced body costs; only clients that fall
// behind pay it.
awaitable<void> spill(pipe_lease& lease, relay_side& from, relay_side& to, std::uint64_t length,
                      std::span<char> scratch, std::optional<backlog>& waiting, relay_result& r,
                      read_done_fn& on_read_done)
{
    for (auto& p = lease.pipe; p.held() > 0;) {
        error_code ec;
        const auto n = p.copy_out(scratch.data(), std::min(scratch.size(), p.held()), ec);
        if (ec) {
            note_failure(r, relay_result::failure::store, ec, false);
            co_return;
        }
        if (!co_await deliver(to, asio::buffer(scratch.data(), n), waiting, r)) co_return;
    }
    lease.pool.give_back(std::move(lease.pipe));
    while (length > 0) {
        const auto until = coarse_now() + from.timeout;
        const auto into = asio::buffer(scratch.data(),
                                       std::min<std::uint64_t>(length, scratch.size()));
        error_code ec;
        std::size_t n = 0;
        if (const auto got = co_await read_while_owed(from, to, waiting, into, until, r)) {
            std::tie(ec, n) = *got;
            if (!ec && n == 0) ec = asio::error::eof;
        } else if (r.failed != relay_result::failure::none) {
            co_await deliver_held(from, to, waiting, r, on_read_done);
            co_return;
        } else {
            from.deadline.arm_at(until);
            std::tie(ec, n) = co_await net::read_some(from.stream, into);
            from.deadline.disarm();
        }
        if (ec) {
            note_failure(r, relay_result::failure::read,
                         ec == asio::error::eof ? error_code(http::error::partial_message) : ec,
                         from.deadline.expired());
            co_await deliver_held(from, to, waiting, r, on_read_done);
            co_return;
        }
        r.bytes_read += n;
        length -= n;
        if (length == 0 && on_read_done) std::exchange(on_read_done, nullptr)(true);
        if (!co_await deliver(to, asio::buffer(scratch.data(), n), waiting, r)) co_return;
    }
    if (waiting) co_await waiting->drain(to, r);
}

}  // namespace

bool can_splice(const net::pipe_pool& pipes, const relay_side& from, const relay_side& to,
                bool chunked, std::uint64_t length)
{
    return pipes.on() && !chunked && length >= worker::relay_buffer_size && !from.stream.tls &&
           !to.stream.tls;
}

// Fills the pipe while `from` has bytes and the pipe has room, drains it while `to` takes them;
// when neither can move, waits for the side that holds things up: the writer when bytes wait in
// the pipe (so a slow client slows the server down, as a full relay buffer does), else the reader.
//
// A fill that would block proves the socket empty only when the pipe is empty: a pipe holds one
// segment per page slot, so with small segments (1448 bytes from a network card) it is full long
// before capacity() bytes, and splice(2) then fails with EAGAIN as for an empty socket. Taking
// that for an empty socket would wait for a readiness event that never comes for bytes already
// there. So a fill that would block with bytes in the pipe waits for the drain instead (as
// HAProxy's raw_sock_to_pipe does), or spills when the relay has a backlog.
awaitable<void> splice_body(net::pipe_pool& pipes, net::splice_pipe pipe, relay_side& from,
                            relay_side& to, std::uint64_t length, std::span<char> scratch,
                            std::optional<backlog>& waiting, relay_result& r,
                            read_done_fn& on_read_done)
{
    pipe_lease lease{pipes, std::move(pipe)};
    auto& p = lease.pipe;
    if (waiting && !waiting->empty()) {
        co_await spill(lease, from, to, length, scratch, waiting, r, on_read_done);
        co_return;
    }
    const int in = from.stream.socket.native_handle(), out = to.stream.socket.native_handle();
    bool can_read = net::may_have_bytes(from.stream.socket), can_write = true, full = false;
    net::receive_mark mark(from.stream.socket);
    // A server timeout shorter than the patience is the operator's to keep: no mark then; nor for
    // a server already found slower than it on this connection.
    bool patient = from.timeout > 2 * mark_patience && !(from.slow_sender && *from.slow_sender);
    while (length > 0 || p.held() > 0) {
        error_code ec;
        if (can_read && !full && length > 0 && p.held() < p.capacity()) {
            const auto room = std::min<std::uint64_t>(length, p.capacity() - p.held());
            const auto n = p.fill(in, static_cast<std::size_t>(room), ec);
            if (ec == asio::error::would_block && p.held() > 0) {
                full = true;
            } else if (ec == asio::error::would_block) {
                net::saw_empty(from.stream.socket);
                can_read = false;
            } else if (ec || n == 0) {  // reset, or the server closed before its whole body
                note_failure(r, relay_result::failure::read, ec ? ec : http::error::partial_message,
                             false);
                co_return;
            }
            r.bytes_read += n;
            length -= n;
            if (length == 0) {
                mark.release();  // on_read_done may pool the server connection
                if (on_read_done) std::exchange(on_read_done, nullptr)(true);
            }
        }
        if (can_write && p.held() > 0) {
            const auto n = p.drain(out, p.held(), ec);
            if (ec == asio::error::would_block) {
                can_write = false;
            } else if (ec) {
                note_failure(r, relay_result::failure::write, ec, false);
                co_return;
            }
            r.bytes_written += n;
            full = full && n == 0;
        }
        const bool reading = can_read && !full && length > 0 && p.held() < p.capacity();
        const bool done = length == 0 && p.held() == 0;
        if (done || reading || (can_write && p.held() > 0)) continue;
        if (to.backlog && p.held() > 0) {
            mark.release();
            co_await spill(lease, from, to, length, scratch, waiting, r, on_read_done);
            co_return;
        }
        if (p.held() > 0) {
            if (!co_await wait_for(to, true, r)) co_return;
            can_write = true;
        } else {
            const auto want = std::min<std::uint64_t>(length, p.capacity());
            if (!co_await wait_for_server(from, mark, patient, want, r)) co_return;
            can_read = true;
        }
    }
}

}  // namespace sluice::proxy
