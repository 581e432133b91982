#include "proxy/session/proxy_header_read.hpp"

#include "net/accepted_socket.hpp"
#include "net/proxy_protocol.hpp"
#include "proxy/log/event_log.hpp"
#include "proxy/session/client_session.hpp"

#include <array>
#include <cerrno>

#include <sys/socket.h>

namespace sluice::proxy {

namespace {

net::proxy_versions versions(config::proxy_protocol allowed)
{
    switch (allowed) {
    case config::proxy_protocol::v1: return net::proxy_versions::v1;
    case config::proxy_protocol::v2: return net::proxy_versions::v2;
    default: return net::proxy_versions::any;
    }
}

// A balancer that sends no header, or the wrong version, fails every connection: one line a
// second says so, with how many more there were, instead of one per connection.
void log_refused(connection_owner& owner, const std::string& client_ip, std::string_view problem)
{
    const auto unlogged = owner.proxy_header_log.allow();
    if (!unlogged) return;
    log_event(severity::warning,
              "listener " + owner.name() + ": closed a connection from " +
                  (client_ip.empty() ? std::string("a unix socket") : client_ip) +
                  ", reason: bad_proxy_header: " + std::string(problem) +
                  rate_limit::unlogged_note(*unlogged) +
                  "; the listener's proxy_protocol must match what the balancer in front sends");
}

}  // namespace

awaitable<bool> read_proxy_header(client_connection& c, config::proxy_protocol allowed)
{
    c.deadline.arm(c.w.current->config.timeouts.client_header);
    for (;;) {
        const std::string_view bytes(static_cast<const char*>(c.buffer.data().data()),
                                     c.buffer.size());
        const auto p = net::parse_proxy_header(bytes, versions(allowed));
        if (p.result == net::proxy_parse::verdict::accepted) {
            c.deadline.disarm();
            if (!p.header.local) c.client_ip = p.header.source.text();
            c.buffer.consume(p.consumed);
            // A balancer with Nagle on that wrote the header apart sends the request only once
            // the header is acknowledged (net/accepted_socket.hpp).
            if (c.buffer.size() == 0) net::acknowledge_now(c.socket);
            co_return true;
        }
        if (p.result == net::proxy_parse::verdict::refused) {
            c.deadline.disarm();
            log_refused(*c.owner, c.client_ip, p.problem);
            co_return false;
        }
        auto [ec, n] = co_await c.socket.async_read_some(c.buffer.prepare(512), use_tuple);
        c.buffer.commit(n);
        if (ec) {
            const bool timed_out = c.deadline.expired();
            c.deadline.disarm();
            if (timed_out || c.buffer.size() > 0)
                log_refused(*c.owner, c.client_ip,
                            timed_out ? "no whole header within timeouts.client_header"
                                      : "the connection closed inside the header");
            co_return false;
        }
    }
}

awaitable<bool> read_proxy_header_exact(socket_type& socket, struct deadline& d,
                                        connection_owner& owner, config::proxy_protocol allowed,
                                        std::string& client_ip)
{
    std::string header;  // the bytes taken so far, all of them the header's
    std::array<char, 512> peeked;
    for (;;) {
        auto [ec] = co_await socket.async_wait(socket_type::wait_read, use_tuple);
        const auto n = ec ? -1
                          : ::recv(socket.native_handle(), peeked.data(), peeked.size(),
                                   MSG_PEEK | MSG_DONTWAIT);
        if (n < 0 && !ec && (errno == EAGAIN || errno == EWOULDBLOCK)) continue;  // woken early
        if (n <= 0) {
            if (d.expired() || !header.empty())
                log_refused(owner, client_ip,
                            d.expired() ? "no whole header within timeouts.client_header"
                                        : "the connection closed inside the header");
            co_return false;
        }
        const auto seen = header.size();
        header.append(peeked.data(), static_cast<std::size_t>(n));
        const auto p = net::parse_proxy_header(header, versions(allowed));
        if (p.result == net::proxy_parse::verdict::refused) {
            log_refused(owner, client_ip, p.problem);
            co_return false;
        }
        // Takes the header's bytes out of the socket: all that was peeked while the header goes
        // on, only up to its end once it is whole.
        const auto take = p.result == net::proxy_parse::verdict::accepted ? p.consumed - seen
                                                                          : std::size_t(n);
        if (::recv(socket.native_handle(), peeked.data(), take, MSG_DONTWAIT) !=
            static_cast<ssize_t>(take))
            co_return false;
        if (p.result == net::proxy_parse::verdict::accepted) {
            if (!p.header.local) client_ip = p.header.source.text();
            // As in read_proxy_header: only when nothing was seen behind the header.
            if (take == static_cast<std::size_t>(n)) net::acknowledge_now(socket);
            co_return true;
        }
    }
}

}  // namespace sluice::proxy
