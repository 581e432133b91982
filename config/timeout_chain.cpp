#include "config/timeout_chain.hpp"

#include "config/timeout_chain_rules.hpp"

#include <algorithm>

// Severity: an *error* is a config that fails requests in normal operation and has no upside
// (the fix costs nothing); a *warning* is a trade-off, a budget the proxy itself cuts short with a
// logged 504, or a conclusion drawn from an assumed value the operator set against; a *note* only
// says what was assumed (it never fails a check). Per rule:
//  1 client_idle <= upstream_idle: error. The LB sends requests on connections sluice is closing;
//    under steady traffic that race is certain, and raising client_idle only costs idle sockets.
//  2 pool idle >= app keep-alive: error when keepalive_timeout is declared (dead sockets reused:
//    a POST cannot be retried and gets a 502); warning when it is the assumed 2 s; the assumption
//    itself is a note.
//  3 queue + connect + server >= upstream_idle: error only when the request deadline cannot cut
//    it (explicit `request` >= upstream_idle): slow requests then vanish at the LB, unlogged.
//    With a deadline below upstream_idle (the derived default) sluice answers 504 in time and
//    logs it; the budgets merely promise more than the LB allows: warning.
//  4 server < worker_timeout: warning. The proxy answers a logged 504; failing fast ahead of the
//    app's own kill can be deliberate, though the worker stays busy after its slot is freed.
//  5 and the rest (health overlap, slow headers, no max_connections, queue 0, drain shorter than
//    a request): warnings; each degrades service, none loses a request.
// client_body and client_send bound a *client's* pauses. Against upstream_idle they need no
// rule: the LB times the same silence on the same connection, whichever fires first the client
// has stopped, and with buffering nothing reached the app or the app has finished. They matter
// where buffering is off: the sync worker then waits on the client's pause, and a pause as long
// as its worker_timeout gets it killed mid-request (warning; the fix is buffering, or a shorter
// pause allowed). The fixes come from one solution of the whole chain (timeout_chain_solve.cpp).

namespace sluice::config {
namespace {

using namespace chain_rules;

// A finding another fix resolves has no edit of its own, and says which value settles it.
std::string own_fix(const std::vector<change>& changes, const std::string& once_fixed)
{
    if (!changes.empty()) return set_text(changes);
    return "none of its own: with the other fixes, " + once_fixed;
}

void check_client_idle(const scope& s, findings_list& out)
{
    const auto& t = s.t;
    if (t.upstream_idle == 0s || t.client_idle > t.upstream_idle) return;
    // The plan adds a quarter, at least 5 s: 60 s -> 75 s, the margin SPEC.md's example keeps.
    auto changes = s.changes({"client_idle"});
    out.add(severity::error, "client_idle_vs_upstream_idle", s.where,
            "sluice closes idle client connections after " + text(t.client_idle) +
                " (client_idle) while the load balancer in front keeps them for " +
                text(t.upstream_idle) +
                " (upstream_idle): it sends requests on connections sluice is closing, and its "
                "clients get sporadic 502s that no sluice log line shows.",
            set_text(changes) + " (above upstream_idle " + text(t.upstream_idle) + ")", changes);
}

// The fix for a chain longer than the LB allows: the plan's shorter phases, or a longer LB.
std::string shorten_chain(const scope& s, const std::vector<change>& changes, duration chain)
{
    return (changes.empty() ? "" : set_text(changes) + ", or ") + raise_lb(s, chain);
}

void check_answer_before_upstream(const scope& s, findings_list& out)
{
    const auto& t = s.t;
    if (t.upstream_idle == 0s) return;
    const duration chain = t.queue + t.connect + t.server;
    const duration deadline = derived_request_deadline(t);
    const duration solved = derived_request_deadline(s.solved);
    const std::string sum = "queue " + text(t.queue) + " + connect " + text(t.connect) +
                            " + server " + text(t.server) + " = " + text(chain);
    const auto changes = s.chain_changes();
    if (chain < t.upstream_idle && deadline >= t.upstream_idle) {
        out.add(severity::warning, "request_vs_upstream_idle", s.where,
                "the request deadline " + text(deadline) +
                    " (timeouts.request) is longer than "
                    "the load balancer's idle timeout " +
                    text(t.upstream_idle) +
                    ": it never fires first, and the app is told it has more time than its client "
                    "will wait.",
                set_text(changes) + " (derived: " + text(solved) + ")", changes);
    }
    if (chain < t.upstream_idle) return;
    if (deadline >= t.upstream_idle) {
        out.add(severity::error, "queue_connect_server_vs_upstream_idle", s.where,
                "a request may take " + sum + " before sluice answers, and the request deadline " +
                    text(deadline) +
                    " does not cut it short, but the load balancer in front "
                    "gives up after " +
                    text(t.upstream_idle) +
                    ": slow requests end with the LB's own error while the app keeps working, "
                    "and no sluice log line says so.",
                set_text(changes) + " (the request deadline is then derived: " + text(solved) + ")",
                changes);
        return;
    }
    out.add(severity::warning, "queue_connect_server_vs_upstream_idle", s.where,
            sum + " is more than the load balancer in front allows (" + text(t.upstream_idle) +
                " idle); the request deadline " + text(deadline) +
                (t.request == 0s ? " (derived)" : "") +
                " answers 504 before the LB gives up, so a request that waited in the queue "
                "gets less than server " +
                text(t.server) + ".",
            shorten_chain(s, changes, chain), changes);
}

void check_client_header(const scope& s, findings_list& out)
{
    const auto& t = s.t;
    if (t.client_header < t.client_idle) return;
    out.add(severity::warning, "client_header_vs_client_idle", s.where,
            "a request head may take " + text(t.client_header) +
                " (client_header) to arrive, no less than an idle connection is kept "
                "(client_idle " +
                text(t.client_idle) +
                "): a client holds a connection longer by trickling its header than by idling, "
                "which is what slowloris does.",
            own_fix(s.changes({"client_header"}), "client_idle is " + text(s.solved.client_idle) +
                                                      ", above client_header " +
                                                      text(t.client_header)),
            s.changes({"client_header"}));
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
            own_fix(s.changes({"drain"}), "the longest request deadline is " +
                                              text(derived_request_deadline(s.solved)) +
                                              ", within drain " + text(t.drain)) +
                " (and keep the orchestrator's kill grace period above admin.drain_notice + "
                "drain)",
            s.changes({"drain"}));
}

void check_timeouts(const scope& s, findings_list& out)
{
    check_client_idle(s, out);
    check_answer_before_upstream(s, out);
    check_client_header(s, out);
    check_drain(s, out);
}

scope route_scope(const root& cfg, const chain_plan& plan, std::size_t li, std::size_t ri)
{
    const auto& r = cfg.listeners[li].routes[ri];
    scope s;
    s.base = apply(plan.global, r.timeouts);
    s.solved = plan.routes.at({li, ri});
    s.where = index("listeners", li) + " (" + cfg.listeners[li].name + ") -> " +
              index("routes", ri);
    s.prefix = s.where + " -> ";
    s.route_key = index("listeners", li) + "." + index("routes", ri) + ".timeouts.";
    s.overrides = &r.timeouts;
    s.t = apply(cfg.timeouts, r.timeouts);
    return s;
}

hop_row make_row(std::string path, const timeouts& t, const backend& b, const server& srv)
{
    hop_row row{std::move(path),       t,
                srv.keepalive_timeout, srv.keepalive_timeout_declared,
                srv.worker_timeout,    b.keepalive.idle_timeout};
    if (b.health) {
        row.health_interval = b.health->interval;
        row.health_timeout = b.health->timeout;
    }
    row.request_deadline = derived_request_deadline(t);
    return row;
}

// One path through a backend: its per-path rules and one row per server.
void walk_backend(const root& cfg, const chain_plan& plan, const scope& s, const std::string& name,
                  const std::string& path, findings_list& out, std::vector<hop_row>& rows)
{
    const backend* b = cfg.find_backend(name);
    if (!b) return;  // an unknown backend is the validator's error
    const backend_at at{cfg, static_cast<std::size_t>(b - cfg.backends.data()), *b};
    check_path(s, at, plan, out);
    for (std::size_t si = 0; si < b->servers.size(); ++si) {
        rows.push_back(make_row(path + " -> " + b->name + " -> " + b->servers[si].name, s.t, *b,
                                b->servers[si]));
    }
}

// Every edit of the plan, whichever finding it belongs to.
std::vector<change> planned(const root& cfg, const chain_plan& plan, const scope& global,
                            const std::vector<scope>& routes)
{
    auto changes = global.all_changes();
    for (const auto& r : routes) changes = changes + r.all_changes();
    for (const auto& [key, value] : plan.workers) changes.push_back({key, text(value)});
    for (const auto bi : plan.buffer_request)
        changes.push_back({backend_at{cfg, bi, cfg.backends[bi]}.key("buffering.request"), "on"});
    for (const auto bi : plan.buffer_response)
        changes.push_back({backend_at{cfg, bi, cfg.backends[bi]}.key("buffering.response"), "on"});
    return changes;
}

// An edit no finding carries is one that another fix makes necessary (a global server raised to
// cover worker_timeout pushes a route that overrides queue past the LB, or a longer deadline
// past drain): it rides with the first fix that edits timeouts, so applying every fix is whole.
void attach_follow_ons(const root& cfg, const chain_plan& plan, const scope& global,
                       const std::vector<scope>& routes, std::vector<finding>& findings)
{
    const auto carried = [&](const change& c) {
        return std::ranges::any_of(findings, [&](const finding& f) {
            return std::ranges::find(f.changes, c) != f.changes.end();
        });
    };
    const auto edits_timeouts = [](const finding& f) {
        return std::ranges::any_of(f.changes, [](const change& c) {
            return c.key.find("timeouts.") != std::string::npos;
        });
    };
    auto host = std::ranges::find_if(findings, edits_timeouts);
    if (host == findings.end())
        host = std::ranges::find_if(findings, [](const finding& f) { return !f.changes.empty(); });
    if (host == findings.end()) return;
    std::vector<change> follow_ons;
    for (const auto& c : planned(cfg, plan, global, routes))
        if (!carried(c) && std::ranges::find(follow_ons, c) == follow_ons.end())
            follow_ons.push_back(c);
    if (follow_ons.empty()) return;
    host->fix += "; with it, " + set_text(follow_ons) + " (the other fixes need it)";
    host->changes = host->changes + follow_ons;
}

// The servers DNS discovery will find are not in the file, but server_defaults says what each
// will be: the chain is checked for one server made from it, in place of any found so far. Its
// keys are not in `marks`, so its findings point at server_defaults, the line to edit.
root with_discovery_stand_ins(const root& cfg)
{
    root out = cfg;
    for (auto& b : out.backends) {
        if (!b.discovery) continue;
        std::erase_if(b.servers, [](const server& s) { return s.discovered; });
        auto& stand_in = b.servers.emplace_back(b.server_defaults);
        stand_in.name = "servers found by DNS";
        stand_in.discovered = true;
    }
    return out;
}

chain_report analyze(const root& cfg);

}  // namespace

chain_report analyze_timeouts(const root& cfg)
{
    if (std::ranges::any_of(cfg.backends, [](const backend& b) { return b.discovery.has_value(); }))
        return analyze(with_discovery_stand_ins(cfg));
    return analyze(cfg);
}

namespace {

chain_report analyze(const root& cfg)
{
    findings_list out;
    chain_report report;
    const auto plan = solve_chain(cfg);
    scope global;
    global.t = global.base = cfg.timeouts;
    global.solved = plan.global;
    check_timeouts(global, out);
    for (std::size_t bi = 0; bi < cfg.backends.size(); ++bi)
        check_backend(backend_at{cfg, bi, cfg.backends[bi]}, out);
    std::vector<scope> routes;
    for (std::size_t li = 0; li < cfg.listeners.size(); ++li) {
        const auto& l = cfg.listeners[li];
        for (std::size_t ri = 0; ri < l.routes.size(); ++ri) {
            const auto path = l.name + " -> " + index("routes", ri);
            if (!overrides_any(l.routes[ri].timeouts)) {
                walk_backend(cfg, plan, global, l.routes[ri].backend, path, out, report.rows);
                continue;
            }
            const scope& s = routes.emplace_back(route_scope(cfg, plan, li, ri));
            check_timeouts(s, out);
            walk_backend(cfg, plan, s, l.routes[ri].backend, path, out, report.rows);
        }
        if (!l.default_backend.empty())
            walk_backend(cfg, plan, global, l.default_backend, l.name + " -> default", out,
                         report.rows);
    }
    report.findings = out.take(report.notes);
    attach_follow_ons(cfg, plan, global, routes, report.findings);
    return report;
}

}  // namespace

duration derived_request_deadline(const timeouts& t)
{
    if (t.request > 0s) return t.request;
    const duration chain = t.queue + t.connect + t.server;
    if (t.upstream_idle <= 0s) return chain;
    return std::min(chain, below(t.upstream_idle));
}

}  // namespace sluice::config
