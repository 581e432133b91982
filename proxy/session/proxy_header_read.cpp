#include "proxy/session/proxy_header_read.hpp"

#include "net/proxy_protocol.hpp"
#include "proxy/log/event_log.hpp"
#include "proxy/session/client_session.hpp"

#include <atomic>

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
void log_refused(const client_connection& c, std::string_view problem)
{
    static std::atomic<std::int64_t> next_line_at{0};
    static std::atomic<unsigned> unlogged{0};
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                         coarse_now().time_since_epoch())
                         .count();
    auto due = next_line_at.load(std::memory_order_relaxed);
    if (now < due || !next_line_at.compare_exchange_strong(due, now + 1000)) {
        unlogged.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    const auto more = unlogged.exchange(0, std::memory_order_relaxed);
    log_event(severity::warning,
              "listener " + std::string(c.owner->name()) + ": closed a connection from " +
                  (c.client_ip.empty() ? std::string("a unix socket") : c.client_ip) +
                  ", reason: bad_proxy_header: " + std::string(problem) +
                  (more ? " (and " + std::to_string(more) + " more since the last line)" : "") +
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
            co_return true;
        }
        if (p.result == net::proxy_parse::verdict::refused) {
            c.deadline.disarm();
            log_refused(c, p.problem);
            co_return false;
        }
        auto [ec, n] = co_await c.socket.async_read_some(c.buffer.prepare(512), use_tuple);
        c.buffer.commit(n);
        if (ec) {
            const bool timed_out = c.deadline.expired();
            c.deadline.disarm();
            if (timed_out || c.buffer.size() > 0)
                log_refused(c, timed_out ? "no whole header within timeouts.client_header"
                                         : "the connection closed inside the header");
            co_return false;
        }
    }
}

}  // namespace sluice::proxy
