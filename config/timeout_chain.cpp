#include "config/timeout_chain.hpp"

#include "config/timeout_chain_rules.hpp"

#include <algorithm>

// Severity: an *error* is a config that fails requests in normal operation and has no upside
// (the fix costs nothing); a *warning* is a trade-off, a budget the proxy itself cuts short with a
// logged 504, or a conclusion drawn from an assumed value. Per rule:
//  1 client_idle <= upstream_idle: error. The LB sends requests on connections sluice is closing;
//    under steady traffic that race is certain, and raising client_idle only costs idle sockets.
//  2 pool idle >= app keep-alive: error when keepalive_timeout is declared (dead sockets reused:
//    a POST cannot be retried and gets a 502); warning when it is the assumed 2 s.
//  3 queue + connect + server >= upstream_idle: error only when the request deadline cannot cut
//    it (explicit `request` >= upstream_idle): slow requests then vanish at the LB, unlogged.
//    With a deadline below upstream_idle (the derived default) sluice answers 504 in time and
//    logs it; the budgets merely promise more than the LB allows: warning.
//  4 server < worker_timeout: warning. The proxy answers a logged 504; failing fast ahead of the
//    app's own kill can be deliberate, though the worker stays busy after its slot is freed.
//  5 and the rest (health overlap, slow headers, no max_connections, queue 0, assumed keep-alive,
//    drain shorter than a request): warnings; each degrades service, none loses a request.

namespace sluice::config {
namespace {

using namespace chain_rules;

// Where the timeouts of a path come from: the global block, or a route overriding some keys.
struct scope {
    std::string where = "timeouts";  // where timeout-only findings point
    std::string prefix;               // "listeners[0] (web) -> routes[1] -> "; "" when global
    std::string route_key;            // "listeners[0].routes[1].timeouts."; "" when global
    const timeout_overrides* overrides = nullptr;
    timeouts t;

    // The key an operator edits to change `field` here: the route's own when it overrides it.
    std::string key(std::string_view field) const
    {
        for (const auto& f : timeout_fields) {
            if (f.key == field && overrides && *overrides.*f.override_value)
                return route_key + std::string(field);
        }
        return "timeouts." + std::string(field);
    }
};

void check_client_idle(const scope& s, findings_list& out)
{
    const auto& t = s.t;
    if (t.upstream_idle == 0s || t.client_idle > t.upstream_idle) return;
    // A quarter more, at least 5 s: 60 s -> 75 s, the margin the spec's example config keeps.
    const duration wanted = t.upstream_idle + std::max<duration>(5s, t.upstream_idle / 4);
    out.add(severity::error, "client_idle_vs_upstream_idle", s.where,
            "sluice closes idle client connections after " + text(t.client_idle) +
                " (client_idle) while the load balancer in front keeps them for " +
                text(t.upstream_idle) +
                " (upstream_idle): it sends requests on connections sluice is closing, and its "
                "clients get sporadic 502s that no sluice log line shows.",
            "set " + s.key("client_idle") + " to " + text(wanted) + " (above upstream_idle " +
                text(t.upstream_idle) + ")");
}

// The fix for a chain longer than the LB allows: shorten the phase that can absorb it.
std::string shorten_chain(const scope& s, duration deadline, duration chain)
{
    const auto& t = s.t;
    std::string fix;
    if (t.connect + t.server < deadline) {
        fix = "set " + s.key("queue") + " to " + text(deadline - t.connect - t.server);
    } else if (t.queue + t.connect < deadline) {
        fix = "set " + s.key("server") + " to " + text(deadline - t.queue - t.connect);
    }
    fix += fix.empty() ? "raise" : ", or raise";
    return fix + " the load balancer's idle timeout above " + text(chain) + " and set " +
           s.key("upstream_idle") + " to match";
}

void check_answer_before_upstream(const scope& s, findings_list& out)
{
    const auto& t = s.t;
    if (t.upstream_idle == 0s) return;
    const duration chain = t.queue + t.connect + t.server;
    const duration deadline = derived_request_deadline(t);
    const duration safe = below(t.upstream_idle);
    const std::string sum = "queue " + text(t.queue) + " + connect " + text(t.connect) +
                            " + server " + text(t.server) + " = " + text(chain);
    if (chain < t.upstream_idle && deadline >= t.upstream_idle) {
        out.add(severity::warning, "request_vs_upstream_idle", s.where,
                "the request deadline " + text(deadline) + " (timeouts.request) is longer than "
                "the load balancer's idle timeout " + text(t.upstream_idle) +
                ": it never fires first, and the app is told it has more time than its client "
                "will wait.",
                "set " + s.key("request") + " to 0 (derived: " + text(chain) + ")");
    }
    if (chain < t.upstream_idle) return;
    if (deadline >= t.upstream_idle) {
        out.add(severity::error, "queue_connect_server_vs_upstream_idle", s.where,
                "a request may take " + sum + " before sluice answers, and the request deadline " +
                    text(deadline) + " does not cut it short, but the load balancer in front "
                    "gives up after " + text(t.upstream_idle) +
                    ": slow requests end with the LB's own error while the app keeps working, "
                    "and no sluice log line says so.",
                "set " + s.key("request") + " to 0 (derived: " + text(safe) + ")");
        return;
    }
    out.add(severity::warning, "queue_connect_server_vs_upstream_idle", s.where,
            sum + " is more than the load balancer in front allows (" + text(t.upstream_idle) +
                " idle); the request deadline " + text(deadline) +
                (t.request == 0s ? " (derived)" : "") +
                " answers 504 before the LB gives up, so a request that waited in the queue "
                "gets less than server " + text(t.server) + ".",
            shorten_chain(s, deadline, chain));
}

void check_client_header(const scope& s, findings_list& out)
{
    const auto& t = s.t;
    if (t.client_header < t.client_idle) return;
    out.add(severity::warning, "client_header_vs_client_idle", s.where,
            "a request head may take " + text(t.client_header) +
                " (client_header) to arrive, no less than an idle connection is kept "
                "(client_idle " + text(t.client_idle) +
                "): a client holds a connection longer by trickling its header than by idling, "
                "which is what slowloris does.",
            "set " + s.key("client_header") + " to " +
                text(std::min<duration>(10s, t.client_idle / 2)));
}

void check_drain(const scope& s, findings_list& out)
{
    const auto& t = s.t;
    const duration deadline = derived_request_deadline(t);
    if (t.drain >= deadline) return;
    out.add(severity::warning, "drain_vs_request_deadline", s.where,
            "a graceful shutdown (SIGTERM at every deploy or scale-in) waits drain " +
                text(t.drain) + " for requests in flight, but a request may run for " +
                text(deadline) + ": longer ones are cut and their clients get an error.",
            "set " + s.key("drain") + " to " + text(deadline) +
                " (and keep the orchestrator's kill grace period above admin.drain_notice + "
                "drain)");
}

void check_timeouts(const scope& s, findings_list& out)
{
    check_client_idle(s, out);
    check_answer_before_upstream(s, out);
    check_client_header(s, out);
    check_drain(s, out);
}

void check_queue_timeout(const scope& s, const backend_at& at, findings_list& out)
{
    const auto& b = at.b;
    const auto limited = [](const server& srv) { return srv.max_connections > 0; };
    if (s.t.queue > 0s || b.queue_max_length == 0 || !std::ranges::any_of(b.servers, limited))
        return;
    out.add(severity::warning, "queue_timeout_zero", s.prefix + at.where(),
            "timeouts.queue is 0, so a request that finds every slot of " + b.name +
                " taken gets a 503 at once: its queue (max_length " +
                std::to_string(b.queue_max_length) + ") never holds a request.",
            "set " + s.key("queue") + " to 10s (how long a request may wait for a slot)");
}

void check_worker_timeout(const scope& s, const backend_at& at, std::size_t si,
                          findings_list& out)
{
    const auto& srv = at.b.servers[si];
    if (!srv.worker_timeout) return;
    const auto& t = s.t;
    const duration worker = *srv.worker_timeout, deadline = derived_request_deadline(t);
    const auto worker_key = at.server_key(si, "worker_timeout");
    if (t.server < worker) {
        const auto raise = "set " + s.key("server") + " to " + text(above(worker)) +
                           " (so the app's own timeout ends the request first)";
        const auto lower = "lower " + worker_key + " to " + text(below(t.server));
        // Raising server past the LB's idle timeout would trade this for rule 3: lower first.
        const bool fits = t.upstream_idle == 0s ||
                          t.queue + t.connect + above(worker) < t.upstream_idle;
        out.add(severity::warning, "server_vs_worker_timeout", s.prefix + at.server_where(si),
                "sluice stops waiting for " + srv.name + " after server " + text(t.server) +
                    " and answers 504, but the app keeps working on the request for up to "
                    "worker_timeout " + text(worker) + ": the work is wasted, and the freed "
                    "slot sends the next request to a worker that is still busy.",
                fits ? raise + ", or " + lower : lower + ", or " + raise);
        return;
    }
    if (deadline >= worker) return;
    const bool derived = t.request == 0s;  // then only upstream_idle can cap it below worker
    out.add(severity::warning, "request_deadline_vs_worker_timeout",
            s.prefix + at.server_where(si),
            "every request here ends by the request deadline " + text(deadline) +
                (derived ? " (derived: below the load balancer's " + text(t.upstream_idle) +
                               " idle timeout)"
                         : " (timeouts.request)") +
                ", while " + srv.name + " may work on it for up to worker_timeout " +
                text(worker) + ": longer requests get a 504 while the app keeps going.",
            (derived ? "raise the load balancer's idle timeout above " +
                           text(above(t.queue + t.connect + worker)) + " and set " +
                           s.key("upstream_idle") + " to match"
                     : "set " + s.key("request") + " to " + text(above(worker))) +
                ", or lower " + worker_key + " to " + text(below(deadline)));
}

scope route_scope(const root& cfg, std::size_t li, std::size_t ri)
{
    const auto& r = cfg.listeners[li].routes[ri];
    scope s;
    s.where = index("listeners", li) + " (" + cfg.listeners[li].name + ") -> " +
              index("routes", ri);
    s.prefix = s.where + " -> ";
    s.route_key = index("listeners", li) + "." + index("routes", ri) + ".timeouts.";
    s.overrides = &r.timeouts;
    s.t = apply(cfg.timeouts, r.timeouts);
    return s;
}

bool overrides_any(const timeout_overrides& o)
{
    const auto set = [&](const timeout_field& f) { return (o.*f.override_value).has_value(); };
    return std::ranges::any_of(timeout_fields, set);
}

hop_row make_row(std::string path, const timeouts& t, const backend& b, const server& srv)
{
    hop_row row{std::move(path),       t, srv.keepalive_timeout, srv.keepalive_timeout_declared,
                srv.worker_timeout, b.keepalive.idle_timeout};
    if (b.health) {
        row.health_interval = b.health->interval;
        row.health_timeout = b.health->timeout;
    }
    row.request_deadline = derived_request_deadline(t);
    return row;
}

// One path through a backend: its per-path rules and one row per server.
void walk_backend(const root& cfg, const scope& s, const std::string& name,
                  const std::string& path, findings_list& out, std::vector<hop_row>& rows)
{
    const backend* b = cfg.find_backend(name);
    if (!b) return;  // an unknown backend is the validator's error
    const backend_at at{cfg, static_cast<std::size_t>(b - cfg.backends.data()), *b};
    check_queue_timeout(s, at, out);
    for (std::size_t si = 0; si < b->servers.size(); ++si) {
        check_worker_timeout(s, at, si, out);
        rows.push_back(make_row(path + " -> " + b->name + " -> " + b->servers[si].name, s.t, *b,
                                b->servers[si]));
    }
}

}  // namespace

chain_report analyze_timeouts(const root& cfg)
{
    findings_list out;
    chain_report report;
    scope global;
    global.t = cfg.timeouts;
    check_timeouts(global, out);
    for (std::size_t bi = 0; bi < cfg.backends.size(); ++bi)
        check_backend(backend_at{cfg, bi, cfg.backends[bi]}, out);
    for (std::size_t li = 0; li < cfg.listeners.size(); ++li) {
        const auto& l = cfg.listeners[li];
        for (std::size_t ri = 0; ri < l.routes.size(); ++ri) {
            const auto path = l.name + " -> " + index("routes", ri);
            if (!overrides_any(l.routes[ri].timeouts)) {
                walk_backend(cfg, global, l.routes[ri].backend, path, out, report.rows);
                continue;
            }
            const scope s = route_scope(cfg, li, ri);
            check_timeouts(s, out);
            walk_backend(cfg, s, l.routes[ri].backend, path, out, report.rows);
        }
        if (!l.default_backend.empty())
            walk_backend(cfg, global, l.default_backend, l.name + " -> default", out, report.rows);
    }
    report.findings = out.take();
    return report;
}

duration derived_request_deadline(const timeouts& t)
{
    if (t.request > 0s) return t.request;
    const duration chain = t.queue + t.connect + t.server;
    if (t.upstream_idle <= 0s) return chain;
    return std::min(chain, below(t.upstream_idle));
}

}  // namespace sluice::config
