#include "proxy/session/body_relay.hpp"

#include "proxy/http/body_parse.hpp"
#include "proxy/http/message_head.hpp"
#include "proxy/session/relay_backlog.hpp"
#include "proxy/session/relay_writes.hpp"
#include "proxy/session/ring_read.hpp"
#include "proxy/session/splice_relay.hpp"

#include "net/accepted_socket.hpp"
#include "net/read_readiness.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <optional>

namespace sluice::proxy {

namespace {

// The relay's buffer: the worker's shared 64 KiB one for large or unknown bodies, an exact-size
// one for small bodies, so a burst of small responses does not spread big blocks over the heap.
struct relay_buffer {
    worker& w;
    std::size_t size = worker::relay_buffer_size;
    std::unique_ptr<char[]> data;
    ~relay_buffer()
    {
        if (data && size == worker::relay_buffer_size) w.give_back(std::move(data));
    }
    char* get()
    {
        if (!data)
            data = size == worker::relay_buffer_size ? w.take_relay_buffer()
                                                     : std::make_unique_for_overwrite<char[]>(size);
        return data.get();
    }
};

// The buffer a message's head is serialized into, the worker's to reuse.
struct text_buffer {
    worker& w;
    std::string text = w.take_text_buffer();
    ~text_buffer() { w.give_back(std::move(text)); }
};

// A body already read with its head needs no room; a large or unknown one gets relay-sized reads.
void make_room(beast::flat_buffer& b, boost::optional<std::uint64_t> remaining)
{
    std::size_t want = worker::relay_buffer_size;
    if (remaining) want = static_cast<std::size_t>(std::min<std::uint64_t>(*remaining, want));
    if (b.size() < want && b.capacity() - b.size() < want) b.reserve(b.size() + want);
}

// Parses body bytes already in the reading side's buffer (read with the head or with the last
// piece) into [data, data + size), without I/O or a suspension: the common case for a small
// message, whose body comes in the same segment as its head. Returns the bytes of body produced.
template <bool IsRequest>
std::size_t parse_buffered(relay_parser<IsRequest>& p, beast::flat_buffer& in, char* data,
                           std::size_t size, relay_result& r)
{
    const auto parsed = parse_body(p, in, data, size);
    r.bytes_read += parsed.consumed;
    if (parsed.ec) {
        r.failed = relay_result::failure::read;
        r.ec = parsed.ec;
    }
    return parsed.produced;
}

// Below the usual MSS (1448 bytes behind Ethernet, with TCP timestamps).
constexpr std::size_t less_than_a_segment = 1400;

// What has arrived, into the reading side's buffer (through the worker's ring on a plain socket),
// and from there through the parser as any body bytes that came with the head. A read that
// emptied a plain socket at the message's end lets its next read wait for epoll without a recv
// (net/read_readiness.hpp), and a server connection back in its pool go unchecked.
template <bool IsRequest>
awaitable<std::size_t> read_into_buffer(net::io_ring& ring, relay_parser<IsRequest>& p,
                                        relay_side& from, char* data, std::size_t size,
                                        relay_result& r, clock::time_point until)
{
    auto& in = *from.buffer;
    const auto room = std::clamp<std::size_t>(in.capacity() - in.size(), 512,
                                              worker::relay_buffer_size);
    from.deadline.arm_at(until);
    auto [ec, n] = co_await read_stream(ring, from.stream, from.deadline, in.prepare(room));
    from.deadline.disarm();
    in.commit(n);
    // A body the server ends by closing ends here; any other is cut short (partial_message).
    if (ec == asio::error::eof) {
        ec = {};
        if (in.size() == 0)
            p.put_eof(ec);
        else
            ec = http::error::partial_message;
    }
    if (ec) {
        r.failed = relay_result::failure::read;
        r.ec = ec;
        r.timed_out = from.deadline.expired();
        co_return 0;
    }
    const auto parsed = parse_buffered(p, in, data, size, r);
    if (!from.stream.tls && p.is_done() && in.size() == 0)
        net::note_message_end(from.stream.socket, n < room);
    // A client with Nagle on sends its next small piece only once this one is acknowledged, which
    // Linux may delay 40 ms (net/accepted_socket.hpp); a piece of a full segment or more is
    // acknowledged at once anyway.
    if (IsRequest && !p.is_done() && n < less_than_a_segment)
        net::acknowledge_now(from.stream.socket);
    co_return parsed;
}

// Reads the next piece of p's body into [data, data + size); returns its size (0 is possible:
// framing only). On failure `r` says so. With `waiting`, what a slow client has not taken yet goes
// out while the server is silent (read_while_owed).
template <bool IsRequest>
awaitable<std::size_t> read_piece(net::io_ring& ring, relay_parser<IsRequest>& p, relay_side& from,
                                  char* data, std::size_t size, relay_result& r,
                                  std::optional<backlog>* waiting = nullptr,
                                  relay_side* to = nullptr)
{
    // parse_buffered also points the body at [data, data + size) for the read below.
    const auto parsed = parse_buffered(p, *from.buffer, data, size, r);
    if (parsed > 0 || p.is_done() || r.failed != relay_result::failure::none) co_return parsed;
    const auto until = coarse_now() + from.timeout;
    if (waiting && owed_to_client(*waiting, *to)) {
        auto& in = *from.buffer;
        const auto got = co_await read_while_owed(
            from, *to, *waiting, in.prepare(std::max<std::size_t>(512, in.capacity() - in.size())),
            until, r);
        if (r.failed != relay_result::failure::none) co_return 0;
        // The end or an error found there is left to the read below, which finds it again.
        if (got && std::get<1>(*got) > 0) {
            in.commit(std::get<1>(*got));
            co_return parse_buffered(p, in, data, size, r);
        }
    }
    co_return co_await read_into_buffer(ring, p, from, data, size, r, until);
}

// Bodies up to this size travel whole, read into the head's own buffer right after the head and
// sent with it in one contiguous write: send(2) rather than a scattered sendmsg(2), and no relay
// buffer. Small enough that holding one back until its last byte costs nothing noticeable.
constexpr std::uint64_t whole_message_limit = 16 * 1024;

template <bool IsRequest>
awaitable<relay_result> relay_whole(worker& w, relay_parser<IsRequest>& p, const head_edits& edits,
                                    relay_side from, relay_side to, std::uint64_t body_size,
                                    read_done_fn on_read_done)
{
    relay_result r;
    text_buffer buffer{w};
    auto& out = buffer.text;
    out.reserve(512 + body_size);
    write_head(p.get().base(), edits, out);
    auto filled = out.size();
    out.resize(filled + body_size);
    if (!p.is_done()) make_room(*from.buffer, body_size);
    while (!p.is_done()) {
        // A body that came with its head is parsed in place: no read_piece coroutine for it.
        auto n = parse_buffered(p, *from.buffer, out.data() + filled, out.size() - filled, r);
        if (n == 0 && !p.is_done() && r.failed == relay_result::failure::none)
            n = co_await read_piece(w.ring, p, from, out.data() + filled, out.size() - filled, r);
        if (r.failed != relay_result::failure::none) co_return r;
        filled += n;
    }
    out.resize(filled);
    if (on_read_done) on_read_done(true);
    // write_piece's steps, inline: the whole message usually leaves here without a coroutine call,
    // or with the rest of this loop turn's sends when the worker batches them.
    std::size_t written = 0;
    if (w.ring.on() && !to.stream.tls && !to.last_on_connection) {
        auto [ec, n] = co_await w.ring.send(to.stream.socket.native_handle(), asio::buffer(out));
        written = note_written(ec, n, r);
    } else if (to.last_on_connection && !to.stream.tls) {
        // Held for the FIN the caller sends next (end_sending), which then leaves with it: one
        // packet, and one wake-up of the client, instead of two.
        error_code ec;
        const auto n = to.stream.socket.send(asio::buffer(out), MSG_MORE | MSG_NOSIGNAL, ec);
        written = note_written(ec, n, r);
    } else {
        written = write_now(to, asio::buffer(out), r);
    }
    if (r.failed == relay_result::failure::none &&
        (written < out.size() || !net::settled(to.stream)))
        co_await write_rest(to, asio::buffer(out), written, r);
    co_return r;
}

// The head goes out with the first piece of the body; a chunked body is framed here, one chunk
// per piece, so trailers and chunk extensions do not cross the proxy (as with NGINX).
template <bool IsRequest>
awaitable<relay_result> relay_streamed(worker& w, relay_parser<IsRequest>& p,
                                       const head_edits& edits, bool chunked, relay_side from,
                                       relay_side to, read_done_fn on_read_done)
{
    text_buffer buffer{w};
    auto& head = buffer.text;
    write_head(p.get().base(), edits, head);
    relay_result r;
    relay_buffer buf{w};
    if (auto left = p.content_length_remaining(); left && *left > 0)
        buf.size = static_cast<std::size_t>(std::min<std::uint64_t>(*left, buf.size));
    // Beast sizes each read by the buffer's spare capacity: without room, a body moves in
    // 512-byte reads. The session shrinks the buffer again once the connection goes idle.
    make_room(*from.buffer, p.content_length_remaining());
    std::optional<backlog> waiting;
    for (bool first = true;; first = false) {
        std::size_t n = 0;
        if (!p.is_done()) {
            n = co_await read_piece(w.ring, p, from, buf.get(), buf.size, r, &waiting, &to);
            if (r.failed != relay_result::failure::none) {
                co_await deliver_held(from, to, waiting, r, on_read_done);
                co_return r;
            }
        }
        const bool last = p.is_done();
        if (last && on_read_done) std::exchange(on_read_done, nullptr)(true);
        char size_line[24];
        const auto size_len = chunked && n > 0
                                  ? std::snprintf(size_line, sizeof size_line, "%zx\r\n", n)
                                  : 0;
        const std::array<asio::const_buffer, 5> out{
            asio::buffer(head.data(), first ? head.size() : 0),
            asio::buffer(size_line, static_cast<std::size_t>(size_len)),
            asio::buffer(buf.data.get(), n), asio::buffer("\r\n", size_len > 0 ? 2 : 0),
            asio::buffer("0\r\n\r\n", last && chunked ? 5 : 0)};
        if (asio::buffer_size(out) > 0) {
            if (!co_await send_out(to, out, waiting, r)) co_return r;
        }
        if (last) {
            if (waiting) co_await waiting->drain(to, r);
            co_return r;
        }
    }
}

// A large body of known length between plain sockets: what came with the head goes out with
// the head, and the rest moves through a pipe, never entering the proxy (splice_relay.hpp).
// Responses only: the request's parser must see its whole body, which retries and the client's
// keep-alive ask about; a response's parser is done with once its head is read.
awaitable<relay_result> relay_spliced(worker& w, net::splice_pipe pipe, response_parser& p,
                                      const head_edits& edits, relay_side from, relay_side to,
                                      read_done_fn on_read_done)
{
    text_buffer buffer{w};
    auto& head = buffer.text;
    write_head(p.get().base(), edits, head);
    relay_result r;
    relay_buffer buf{w};
    std::optional<backlog> waiting;
    for (bool first = true;; first = false) {
        const auto n = parse_buffered(p, *from.buffer, buf.get(), buf.size, r);
        if (r.failed != relay_result::failure::none) co_return r;
        const std::array<asio::const_buffer, 2> out{
            asio::buffer(head.data(), first ? head.size() : 0), asio::buffer(buf.data.get(), n)};
        if (!co_await send_out(to, out, waiting, r)) co_return r;
        if (n == 0 || from.buffer->size() == 0 || p.is_done()) break;
    }
    co_await splice_body(w.pipes, std::move(pipe), from, to,
                         p.content_length_remaining().value_or(0), {buf.get(), buf.size}, waiting,
                         r, on_read_done);
    co_return r;
}

}  // namespace

// Not a coroutine itself: it picks one, and the caller awaits that one's frame only.
template <bool IsRequest>
awaitable<relay_result> relay_message(worker& w, relay_parser<IsRequest>& p,
                                      const head_edits& edits, bool chunked, relay_side from,
                                      relay_side to, read_done_fn on_read_done)
{
    chunked = chunked && !p.is_done();
    const auto remaining = p.is_done()
                               ? std::uint64_t{0}
                               : p.content_length_remaining().value_or(whole_message_limit + 1);
    if (!chunked && remaining <= whole_message_limit)
        return relay_whole(w, p, edits, from, to, remaining, std::move(on_read_done));
    if constexpr (!IsRequest) {
        const auto buffered = from.buffer->size();
        if (p.content_length_remaining() && remaining > buffered &&
            can_splice(w.pipes, from, to, chunked, remaining - buffered)) {
            // Out of descriptors for a pipe: the body goes the copying way.
            if (auto pipe = w.pipes.take(); pipe.valid())
                return relay_spliced(w, std::move(pipe), p, edits, from, to,
                                     std::move(on_read_done));
        }
    }
    return relay_streamed(w, p, edits, chunked, from, to, std::move(on_read_done));
}

template awaitable<relay_result> relay_message<true>(worker&, relay_parser<true>&,
                                                     const head_edits&, bool, relay_side,
                                                     relay_side, read_done_fn);
template awaitable<relay_result> relay_message<false>(worker&, response_parser&, const head_edits&,
                                                      bool, relay_side, relay_side, read_done_fn);

awaitable<relay_result> relay_body_bytes(worker& w, request_parser& p, relay_side from,
                                         relay_side to)
{
    relay_result r;
    relay_buffer buf{w};
    make_room(*from.buffer, p.content_length_remaining());
    while (!p.is_done()) {
        const auto n = co_await read_piece(w.ring, p, from, buf.get(), buf.size, r);
        if (r.failed != relay_result::failure::none) co_return r;
        if (!co_await write_piece(to, asio::buffer(buf.get(), n), r)) co_return r;
    }
    co_return r;
}

awaitable<relay_result> read_body(worker& w, request_parser& p, relay_side from, body_store& out)
{
    relay_result r;
    relay_buffer buf{w};
    make_room(*from.buffer, p.content_length_remaining());
    while (!p.is_done()) {
        const auto n = co_await read_piece(w.ring, p, from, buf.get(), buf.size, r);
        if (r.failed != relay_result::failure::none) co_return r;
        if (auto ec = out.append({buf.get(), n})) {
            r.failed = relay_result::failure::store;
            r.ec = ec == std::errc::file_too_large ? error_code(http::error::body_limit)
                                                   : error_code(ec);
            co_return r;
        }
    }
    co_return r;
}

awaitable<relay_result> write_stored(worker& w, std::string_view head, const body_store& body,
                                     relay_side to)
{
    relay_result r;
    relay_buffer buf{w};
    char* scratch = body.spooled() ? buf.get() : nullptr;
    std::uint64_t offset = 0;
    for (bool first = true;; first = false) {
        std::string_view piece;
        if (auto ec = body.read_at(offset, scratch, buf.size, piece)) {
            r.failed = relay_result::failure::store;
            r.ec = error_code(ec);
            co_return r;
        }
        const std::array<asio::const_buffer, 2> out{asio::buffer(head.data(),
                                                                 first ? head.size() : 0),
                                                    asio::buffer(piece.data(), piece.size())};
        if (asio::buffer_size(out) > 0) {
            if (!co_await write_piece(to, out, r)) co_return r;
        }
        if (piece.empty()) co_return r;
        offset += piece.size();
    }
}

}  // namespace sluice::proxy
