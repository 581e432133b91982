// Upgraded connections (WebSocket): after the 101, bytes flow both ways untouched until one side
// closes, or nothing moves either way for timeouts.tunnel.
#include "proxy/session/tunnel.hpp"
#include "proxy/backend/upstream_connection.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/write.hpp>

namespace sluice::proxy {

namespace {

struct tunnel_state {
    deadline& a;
    deadline& b;
    clock::duration idle;
    void activity()
    {
        a.arm(idle);
        b.arm(idle);
    }
};

awaitable<void> pump(net::stream_ref from, beast::flat_buffer& leftover, net::stream_ref to,
                     tunnel_state& t, worker& w)
{
    if (leftover.size() > 0) {
        auto [ec, n] = co_await net::write_all(to, leftover.data());
        leftover.consume(n);
        if (ec) co_return;
    }
    auto buf = w.take_relay_buffer();
    for (;;) {
        auto [rec, n] = co_await net::read_some(from,
                                                asio::buffer(buf.get(), worker::relay_buffer_size));
        if (rec) {
            error_code ignored;
            if (rec == asio::error::eof) {  // pass the half-close on
                if (to.tls) to.tls->close_send(to.socket);
                to.socket.shutdown(socket_type::shutdown_send, ignored);
            } else {
                from.socket.close(ignored), to.socket.close(ignored);
            }
            break;
        }
        t.activity();
        auto [wec, m] = co_await net::write_all(to, asio::buffer(buf.get(), n));
        if (wec) {
            error_code ignored;
            from.socket.close(ignored), to.socket.close(ignored);
            break;
        }
    }
    w.give_back(std::move(buf));
}

}  // namespace

awaitable<void> tunnel(client_connection& c, upstream_connection& u, exchange& x,
                       clock::duration idle)
{
    using namespace asio::experimental::awaitable_operators;
    tunnel_state t{c.deadline, u.deadline, idle};
    t.activity();
    co_await (pump(client_stream(c), c.buffer, upstream_stream(u), t, c.w) &&
              pump(upstream_stream(u), u.buffer, client_stream(c), t, c.w));
    const bool idle_out = c.deadline.expired() || u.deadline.expired();
    c.deadline.disarm();
    u.deadline.disarm();
    x.rec.reason = idle_out ? "tunnel_timeout" : "upgraded";
    c.keep_alive = false;
}

}  // namespace sluice::proxy
