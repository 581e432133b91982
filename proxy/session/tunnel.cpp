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

awaitable<void> pump(socket_type& from, beast::flat_buffer& leftover, socket_type& to,
                     tunnel_state& t, worker& w)
{
    if (leftover.size() > 0) {
        auto [ec, n] = co_await asio::async_write(to, leftover.data(), use_tuple);
        leftover.consume(n);
        if (ec) co_return;
    }
    auto buf = w.take_relay_buffer();
    for (;;) {
        auto [rec, n] = co_await from.async_read_some(
            asio::buffer(buf.get(), worker::relay_buffer_size), use_tuple);
        if (rec) {
            error_code ignored;
            if (rec == asio::error::eof)
                to.shutdown(socket_type::shutdown_send, ignored);  // pass the half-close on
            else
                from.close(ignored), to.close(ignored);
            break;
        }
        t.activity();
        auto [wec, m] = co_await asio::async_write(to, asio::buffer(buf.get(), n), use_tuple);
        if (wec) {
            error_code ignored;
            from.close(ignored), to.close(ignored);
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
    co_await (pump(c.socket, c.buffer, u.socket, t, c.w) &&
              pump(u.socket, u.buffer, c.socket, t, c.w));
    const bool idle_out = c.deadline.expired() || u.deadline.expired();
    c.deadline.disarm();
    u.deadline.disarm();
    x.rec.reason = idle_out ? "tunnel_timeout" : "upgraded";
    c.keep_alive = false;
}

}  // namespace sluice::proxy
