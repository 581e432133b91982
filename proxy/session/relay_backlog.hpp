#pragma once
// Response buffering's writer side: what a slow client has not taken yet waits in a backlog
// (memory, then a spool file) while the relay goes on reading the server at its own pace.
// Internal to body_relay.

#include "proxy/session/relay_writes.hpp"

#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/beast/core/buffers_range.hpp>

#include <memory>
#include <optional>

namespace sluice::proxy {

// What a slow reader has not taken yet, in order, written out whenever its socket takes more.
class backlog {
public:
    explicit backlog(const body_store::limits& l) : store_(l) {}

    bool empty() const { return sent_ == store_.size(); }

    // Writes what the socket takes now, without a suspension; false after a failure noted in r.
    bool flush_now(relay_side& to, relay_result& r)
    {
        for (;;) {
            std::string_view piece;
            if (!next(piece, r)) return false;
            if (piece.empty()) return true;
            const auto written = write_now(to, asio::buffer(piece.data(), piece.size()), r);
            if (r.failed != relay_result::failure::none) return false;
            sent_ += written;
            if (written < piece.size()) return true;
        }
    }

    // Waits for the writer until everything is out; false after a failure noted in r.
    awaitable<bool> drain(relay_side& to, relay_result& r)
    {
        for (;;) {
            std::string_view piece;
            if (!next(piece, r)) co_return false;
            if (piece.empty()) co_return co_await settle(to, r);
            if (!co_await write_piece(to, asio::buffer(piece.data(), piece.size()), r))
                co_return false;
            sent_ += piece.size();
        }
    }

    // Keeps `buffers` after their first `skip` bytes. False, keeping nothing, when that would
    // pass the store's max_size; a spool failure is noted in r.
    template <class Buffers>
    bool add(const Buffers& buffers, std::size_t skip, relay_result& r)
    {
        if (store_.size() + asio::buffer_size(buffers) - skip > store_.max_size()) return false;
        for (auto b : beast::buffers_range_ref(buffers)) {
            const auto cut = std::min(skip, b.size());
            skip -= cut;
            const std::string_view bytes(static_cast<const char*>(b.data()) + cut, b.size() - cut);
            if (auto ec = store_.append(bytes)) {
                r.failed = relay_result::failure::store;
                r.ec = error_code(ec);
                return true;
            }
        }
        return true;
    }

private:
    // The next unsent bytes ("" when none, and then the store is emptied for reuse).
    bool next(std::string_view& piece, relay_result& r)
    {
        if (empty()) {
            store_.clear();
            sent_ = 0;
            piece = {};
            return true;
        }
        if (store_.spooled() && !scratch_)
            scratch_ = std::make_unique_for_overwrite<char[]>(worker::relay_buffer_size);
        if (auto ec = store_.read_at(sent_, scratch_.get(), worker::relay_buffer_size, piece)) {
            r.failed = relay_result::failure::store;
            r.ec = error_code(ec);
            return false;
        }
        return true;
    }

    body_store store_;
    std::uint64_t sent_ = 0;
    std::unique_ptr<char[]> scratch_;
};

// Writes `out` to a writer with a backlog: what waits goes first, what the socket does not take
// now joins the backlog. Past the backlog's max_size it waits for the writer, and the message
// goes on streamed unbuffered. False after a failure noted in r.
template <class Buffers>
awaitable<bool> deliver(relay_side& to, const Buffers& out, std::optional<backlog>& waiting,
                        relay_result& r)
{
    if (!waiting) waiting.emplace(*to.backlog);
    if (!waiting->flush_now(to, r)) co_return false;
    std::size_t written = 0;
    if (waiting->empty()) {
        written = write_now(to, out, r);
        if (r.failed != relay_result::failure::none) co_return false;
        if (written == asio::buffer_size(out)) co_return true;
    }
    if (waiting->add(out, written, r)) co_return r.failed == relay_result::failure::none;
    if (!co_await waiting->drain(to, r)) co_return false;
    co_await write_rest(to, out, written, r);
    co_return r.failed == relay_result::failure::none;
}

// Whether bytes the relay has taken for the client have not all left: in the backlog, or in TLS
// records that wait for the socket.
inline bool owed_to_client(const std::optional<backlog>& waiting, const relay_side& to)
{
    return waiting && (!waiting->empty() || !net::settled(to.stream));
}

// While the server sends nothing, what is owed to the client goes out whenever its socket takes
// more, rather than at the server's next bytes. Returns true when the server has something to
// read (or a wait on it failed, which the read will find) or nothing is owed any more; false
// after a failure noted in r: the client's, or the server's silence past `until` (the caller's
// read that follows keeps that deadline, so the server's timeout counts from the start of this
// wait, however long the client takes).
inline awaitable<bool> flush_while_server_waits(relay_side& from, relay_side& to,
                                                std::optional<backlog>& waiting, relay_result& r,
                                                clock::time_point until)
{
    namespace ex = asio::experimental;
    for (;;) {
        if (!waiting->flush_now(to, r)) co_return false;
        if (waiting->empty() && to.stream.tls) {
            error_code ec;
            to.stream.tls->send_now(to.stream.socket, ec);
            note_written(ec, 0, r);
            if (r.failed != relay_result::failure::none) co_return false;
        }
        if (!owed_to_client(waiting, to)) co_return true;
        from.deadline.arm_at(until);
        auto [order, server_ec, client_ec] =
            co_await ex::make_parallel_group(
                from.stream.socket.async_wait(socket_type::wait_read, asio::deferred),
                to.stream.socket.async_wait(socket_type::wait_write, asio::deferred))
                .async_wait(ex::wait_for_one(), asio::use_awaitable_t<executor_type>{});
        from.deadline.disarm();
        if (order[0] == 0 && !server_ec) co_return true;  // before a deadline that came too late
        if (from.deadline.expired()) {
            r.failed = relay_result::failure::read;
            r.ec = asio::error::timed_out;
            r.timed_out = true;
            co_return false;
        }
        if (order[0] == 0) co_return true;
    }
}

// A relay that owes the client bytes reads what has arrived before it waits for the server (a
// fast server's next piece usually has), and while nothing has, lets what is owed go out
// (flush_while_server_waits); again after each wait, since a readiness event may be one a read
// has just made stale. Only on a non-blocking socket (the proxy's are), where read_arrived really
// reads: on another it never would, and this would spin. Returns what read_arrived found in
// `into`: bytes, or the end (0 and no error), or an error. Nullopt when the caller's own read is
// due: nothing is owed (any more), or r notes that the wait failed.
inline awaitable<std::optional<net::io_result>> read_while_owed(relay_side& from, relay_side& to,
                                                                std::optional<backlog>& waiting,
                                                                asio::mutable_buffer into,
                                                                clock::time_point until,
                                                                relay_result& r)
{
    while (owed_to_client(waiting, to) && from.stream.socket.non_blocking()) {
        error_code ec;
        const auto n = net::read_arrived(from.stream, into, ec);
        if (ec != asio::error::would_block) co_return net::io_result{ec, n};
        if (!co_await flush_while_server_waits(from, to, waiting, r, until)) co_return std::nullopt;
    }
    co_return std::nullopt;
}

// After the server failed in the middle of a body, what it had sent still goes to the client (as
// it would have unbuffered), within the client's timeout; the response then ends short. The
// server is let go first (its connection closed, then on_read_done told it was not whole), so a
// slow client holds neither its slot nor its connection meanwhile. r keeps the server's failure.
inline awaitable<void> deliver_held(relay_side& from, relay_side& to,
                                    std::optional<backlog>& waiting, relay_result& r,
                                    read_done_fn& on_read_done)
{
    if (r.failed != relay_result::failure::read || !owed_to_client(waiting, to)) co_return;
    error_code ignored;
    from.stream.socket.close(ignored);
    if (on_read_done) std::exchange(on_read_done, nullptr)(false);
    relay_result rest;
    co_await waiting->drain(to, rest);
    r.bytes_written += rest.bytes_written;
}

// Writes `out` to `to`: through the backlog when `to` has one, else waiting for the socket. False
// after a failure noted in r. Two statements, not `co_await (a ? b : c)`, which GCC miscompiles.
template <class Buffers>
awaitable<bool> send_out(relay_side& to, const Buffers& out, std::optional<backlog>& waiting,
                         relay_result& r)
{
    if (to.backlog) co_return co_await deliver(to, out, waiting, r);
    co_return co_await write_piece(to, out, r);
}

}  // namespace sluice::proxy
