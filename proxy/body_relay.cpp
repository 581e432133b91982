#include "proxy/body_relay.hpp"

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
        if (data && size == worker::relay_buffer_size)
            w.give_back(std::move(data));
    }
    char* get()
    {
        if (!data)
            data = size == worker::relay_buffer_size ? w.take_relay_buffer()
                                                     : std::make_unique_for_overwrite<char[]>(size);
        return data.get();
    }
};

// A body already read with its head needs no room; a large or unknown one gets relay-sized reads.
void make_room(beast::flat_buffer& b, boost::optional<std::uint64_t> remaining)
{
    std::size_t want = worker::relay_buffer_size;
    if (remaining)
        want = static_cast<std::size_t>(std::min<std::uint64_t>(*remaining, want));
    if (b.size() < want && b.capacity() - b.size() < want)
        b.reserve(b.size() + want);
}

}  // namespace

template <bool IsRequest>
asio::awaitable<relay_result> relay_message(worker& w, http::parser<IsRequest, http::buffer_body>& p,
                                            relay_side from, relay_side to,
                                            std::function<void()> on_read_done)
{
    relay_result r;
    auto& body = p.get().body();
    http::serializer<IsRequest, http::buffer_body> sr{p.get()};
    relay_buffer buf{w};
    if (auto remaining = p.content_length_remaining(); remaining && *remaining > 0)
        buf.size = static_cast<std::size_t>(std::min<std::uint64_t>(*remaining, buf.size));
    bool reported_done = false;
    // Beast sizes each read by the buffer's spare capacity: without room, a body moves in
    // 512-byte reads. The session shrinks the buffer again once the connection goes idle.
    if (!p.is_done())
        make_room(*from.buffer, p.content_length_remaining());
    do {
        if (!p.is_done()) {
            body.data = buf.get();
            body.size = buf.size;
            from.deadline.arm(from.timeout);
            auto [ec, n] = co_await http::async_read_some(from.socket, *from.buffer, p, use_tuple);
            from.deadline.disarm();
            r.bytes_read += n;
            if (ec == http::error::need_buffer)
                ec = {};
            if (ec) {
                r = {relay_result::failure::read, ec, from.deadline.expired(), r.bytes_read,
                     r.bytes_written};
                co_return r;
            }
            body.size = buf.size - body.size;
            // An empty piece must be no piece: Beast would write it as the terminating chunk.
            body.data = body.size > 0 ? buf.get() : nullptr;
            body.more = !p.is_done();
        } else {
            body.data = nullptr;
            body.size = 0;
            body.more = false;
        }
        if (p.is_done() && !reported_done && on_read_done) {
            reported_done = true;
            on_read_done();
        }
        to.deadline.arm(to.timeout);
        auto [ec, n] = co_await http::async_write(to.socket, sr, use_tuple);
        to.deadline.disarm();
        r.bytes_written += n;
        if (ec == http::error::need_buffer)
            ec = {};
        if (ec) {
            r = {relay_result::failure::write, ec, to.deadline.expired(), r.bytes_read,
                 r.bytes_written};
            co_return r;
        }
    } while (!sr.is_done());
    co_return r;
}

template asio::awaitable<relay_result> relay_message<true>(
    worker&, http::parser<true, http::buffer_body>&, relay_side, relay_side, std::function<void()>);
template asio::awaitable<relay_result> relay_message<false>(
    worker&, http::parser<false, http::buffer_body>&, relay_side, relay_side, std::function<void()>);

}  // namespace sluice::proxy
