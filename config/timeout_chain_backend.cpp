// The timeout-chain rules about one backend and its servers, whatever path leads there: the
// pool against the app server's keep-alive, limits, health checks. Severities are argued at the
// top of timeout_chain.cpp.
#include "config/timeout_chain_rules.hpp"

namespace sluice::config::chain_rules {
namespace {

std::string names_of(const backend& b, auto&& pick)
{
    std::string names;
    for (const auto& s : b.servers) {
        if (pick(s)) names += (names.empty() ? "" : ", ") + s.name;
    }
    return names;
}

// Returns whether it reported, so an assumed keep-alive is not noted a second time.
bool check_pool(const backend_at& at, findings_list& out)
{
    const auto& b = at.b;
    if (b.keepalive.max_idle == 0 || b.servers.empty()) return false;
    const auto shortest = std::ranges::min_element(b.servers, {}, &server::keepalive_timeout);
    const auto si = static_cast<std::size_t>(shortest - b.servers.begin());
    const duration keepalive = shortest->keepalive_timeout, pool = b.keepalive.idle_timeout;
    if (pool < keepalive) return false;
    const bool declared = shortest->keepalive_timeout_declared;
    const std::vector<change> changes{{at.key("keepalive.idle_timeout"), text(keepalive * 4 / 5)}};
    out.add(declared ? severity::error : severity::warning, "pool_idle_vs_server_keepalive",
            at.server_where(si),
            shortest->name + " closes idle connections after " + text(keepalive) +
                (declared ? " (keepalive_timeout)"
                          : " (not declared: assumed, gunicorn's default)") +
                " but sluice keeps them pooled for " + text(pool) +
                " (keepalive.idle_timeout): requests go out on sockets the app has already "
                "closed; an idempotent one is retried once, any other gets a 502.",
            set_text(changes) + " (80% of keepalive_timeout " + text(keepalive) + ")" +
                (declared ? ""
                          : ", or declare the app server's own in " +
                                at.server_key(si, "keepalive_timeout")),
            changes);
    return true;
}

void check_assumed_keepalive(const backend_at& at, findings_list& out)
{
    const auto& b = at.b;
    const auto names = names_of(b, [](const server& s) { return !s.keepalive_timeout_declared; });
    if (names.empty() || b.keepalive.max_idle == 0) return;
    out.add(severity::note, "keepalive_timeout_assumed", at.where(),
            "the app server's keepalive_timeout is not declared for " + names +
                ", so sluice assumes 2s (gunicorn's default, the shortest common one) and drops "
                "pooled connections after " +
                text(b.keepalive.idle_timeout) +
                ": safe, but if the app keeps connections longer, sluice reconnects far more "
                "often than it needs to.",
            "set " + at.key("server_defaults.keepalive_timeout") +
                " to the app server's own keep-alive (gunicorn --keep-alive, uWSGI "
                "--http-keepalive)");
}

void check_max_connections(const backend_at& at, findings_list& out)
{
    const auto& b = at.b;
    const auto unlimited = [](const server& s) { return s.max_connections == 0; };
    const auto first = std::ranges::find_if(b.servers, unlimited);
    if (first == b.servers.end()) return;
    const bool all = std::ranges::all_of(b.servers, unlimited);
    const auto si = static_cast<std::size_t>(first - b.servers.begin());
    out.add(severity::warning, "no_max_connections", all ? at.where() : at.server_where(si),
            (all ? "no server of " + b.name : names_of(b, unlimited)) +
                " has max_connections, so sluice queues nothing there: every request goes "
                "straight to the app server, the excess waits unseen in its listen backlog, and "
                "timeouts.queue and queue.max_length never apply.",
            "set " +
                (all ? at.key("server_defaults.max_connections")
                     : at.key(index("servers", si) + ".max_connections")) +
                " to the app server's worker count (gunicorn --workers, uWSGI processes x "
                "threads)");
}

void check_health(const backend_at& at, findings_list& out)
{
    if (!at.b.health || at.b.health->timeout < at.b.health->interval) return;
    const auto& h = *at.b.health;
    out.add(severity::warning, "health_timeout_vs_interval", at.where(),
            "a health check may take " + text(h.timeout) + " (health.timeout), no less than the " +
                text(h.interval) +
                " between checks (health.interval); with one check in flight "
                "per server, a hanging server is checked only every " +
                text(h.timeout) + " and marked down " + std::to_string(h.fall) + " x " +
                text(h.timeout) + " after it stops answering.",
            set_text({{at.key("health.timeout"), text(h.interval / 2)}}),
            {{at.key("health.timeout"), text(h.interval / 2)}});
}

}  // namespace

void check_backend(const backend_at& at, findings_list& out)
{
    if (!check_pool(at, out)) check_assumed_keepalive(at, out);
    check_max_connections(at, out);
    check_health(at, out);
}

}  // namespace sluice::config::chain_rules
