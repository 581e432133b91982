// The timeout chain solved as a whole, so that the fixes `sluice check` proposes, applied
// together, leave no finding (SPEC.md "check and run agree"). Each rule alone has an obvious
// fix, and the obvious fixes fight: server below worker_timeout says "raise server", the LB
// budget then says "lower server", and round it goes. Here every path's timeouts are solved at
// once, in an order of what to give up first:
//
//  * the values sluice owns before the ones it only mirrors: upstream_idle (the LB in front) and
//    worker_timeout / keepalive_timeout (the app server) change only when nothing else fits;
//  * server before queue, down to what the app's workers need (above worker_timeout, or above
//    gunicorn's default 30 s when undeclared): cutting server abandons work the app is doing;
//  * then queue, down to 1 s: a queued request has cost nothing yet, and its 503 says
//    Retry-After; a shorter queue is what fits when the app needs the whole LB budget;
//  * then, if even that does not fit, the app's worker_timeout comes down below what is left
//    for server (and the queue keeps up to its default 10 s);
//  * drain last, at least the longest request deadline.
//
// Global timeouts first; a route that overrides some gets its own solution on top of the solved
// global ones, written on the route; then drain, which is one per process, covers every path.
#include "config/timeout_chain_rules.hpp"

#include <charconv>
#include <regex>

namespace sluice::config {
namespace chain_rules {
namespace {

// gunicorn's default --timeout: server is not cut below it when worker_timeout is undeclared,
// as the undeclared keep-alive is taken to be gunicorn's 2 s.
constexpr duration assumed_worker = 30s;

// queue + connect + server within the derived deadline's cap below upstream_idle, so the proxy
// answers (504 or 503) before the LB gives up, and what is left for server still covers the app.
void fit_under_upstream(timeouts& t, const scope_needs& needs, std::optional<duration>& cap)
{
    const duration budget = below(t.upstream_idle), queue = t.queue;
    const auto chain = [&] { return t.queue + t.connect + t.server; };
    const duration floor = above(needs.worker.value_or(assumed_worker));
    const duration room = budget - t.connect - t.queue;
    if (t.server > room) t.server = std::max(std::min(t.server, floor), room);
    if (chain() > budget) {
        const duration least = needs.queue ? std::min<duration>(t.queue, 1s) : 0s;
        t.queue = std::max(least, budget - t.connect - t.server);
    }
    if (chain() <= budget) return;
    // The app's own timeout does not fit under the LB's even behind a 1 s queue, so it comes
    // down anyway; then the queue keeps up to the default 10 s, which is worth more to a request
    // than seconds of a worker timeout longer than the LB lets anyone wait. With an LB timeout
    // of a few seconds, connect and queue give up their share as well.
    t.queue = std::max(t.queue, std::min(queue, timeouts{}.queue));
    if (budget - t.connect - t.queue < budget / 2) {
        t.connect = std::min(t.connect, budget / 4);
        t.queue = std::min(t.queue, budget / 4);
    }
    t.server = budget - t.connect - t.queue;
    if (needs.worker && *needs.worker >= t.server) cap = below(t.server);
}

// Default backends and routes that override no timeout: the paths the global timeouts govern.
std::vector<std::size_t> global_backends(const root& cfg)
{
    std::vector<std::size_t> out;
    const auto reach = [&](const std::string& name) {
        if (const backend* b = cfg.find_backend(name))
            out.push_back(static_cast<std::size_t>(b - cfg.backends.data()));
    };
    for (const auto& l : cfg.listeners) {
        for (const auto& r : l.routes)
            if (!overrides_any(r.timeouts)) reach(r.backend);
        reach(l.default_backend);
    }
    return out;
}

std::string worker_key(const root& cfg, std::size_t bi, std::size_t si)
{
    return backend_at{cfg, bi, cfg.backends[bi]}.server_key(si, "worker_timeout");
}

// A server's worker_timeout once the plan so far has lowered it.
std::optional<duration> worker_of(const root& cfg, const chain_plan& plan, std::size_t bi,
                                  std::size_t si)
{
    auto w = cfg.backends[bi].servers[si].worker_timeout;
    const auto lowered = plan.workers.find(worker_key(cfg, bi, si));
    if (w && lowered != plan.workers.end()) w = std::min(*w, lowered->second);
    return w;
}

scope_needs needs_of(const root& cfg, const chain_plan& plan, const std::vector<std::size_t>& bis)
{
    scope_needs needs;
    for (const auto bi : bis) {
        const auto& b = cfg.backends[bi];
        for (std::size_t si = 0; si < b.servers.size(); ++si) {
            if (b.servers[si].max_connections > 0 && b.queue_max_length > 0) needs.queue = true;
            if (const auto w = worker_of(cfg, plan, bi, si))
                needs.worker = std::max(needs.worker.value_or(*w), *w);
        }
    }
    return needs;
}

void lower_workers(const root& cfg, const std::vector<std::size_t>& bis, duration cap,
                   chain_plan& plan)
{
    for (const auto bi : bis) {
        for (std::size_t si = 0; si < cfg.backends[bi].servers.size(); ++si) {
            const auto w = worker_of(cfg, plan, bi, si);
            if (w && *w > cap) plan.workers[worker_key(cfg, bi, si)] = cap;
        }
    }
}

scope_solution solve_path(const root& cfg, const timeouts& t, const std::vector<std::size_t>& bis,
                          chain_plan& plan)
{
    auto solution = solve_scope(t, needs_of(cfg, plan, bis));
    if (solution.worker_cap) lower_workers(cfg, bis, *solution.worker_cap, plan);
    return solution;
}

// Without buffering a sync worker waits on the client's pauses (rule in timeout_chain.cpp);
// a worker_timeout the plan lowered can make that true where it was not.
void plan_buffering(const root& cfg, const std::vector<std::pair<timeouts, std::size_t>>& paths,
                    chain_plan& plan)
{
    for (const auto& [t, bi] : paths) {
        const auto& b = cfg.backends[bi];
        std::optional<duration> shortest;
        for (std::size_t si = 0; si < b.servers.size(); ++si)
            if (const auto w = worker_of(cfg, plan, bi, si))
                shortest = std::min(shortest.value_or(*w), *w);
        if (!shortest) continue;
        if (!b.buffering.request && t.client_body >= *shortest) plan.buffer_request.insert(bi);
        if (!b.buffering.response && t.client_send >= *shortest) plan.buffer_response.insert(bi);
    }
}

}  // namespace

scope_solution solve_scope(timeouts t, const scope_needs& needs)
{
    scope_solution out;
    const duration lb = t.upstream_idle;
    if (lb > 0s && t.client_idle <= lb) t.client_idle = lb + std::max<duration>(5s, lb / 4);
    if (t.client_header >= t.client_idle)
        t.client_header = std::min<duration>(10s, t.client_idle / 2);
    if (needs.queue && t.queue == 0s) t.queue = 10s;
    const auto worker = needs.worker;
    if (worker && t.server < *worker) t.server = above(*worker);
    if (worker && t.request > 0s && t.request < *worker) t.request = above(*worker);
    if (lb > 0s && t.request >= lb) t.request = 0s;
    const bool too_long = t.queue + t.connect + t.server >= lb;
    if (lb > 0s && (too_long || (worker && derived_request_deadline(t) < *worker)))
        fit_under_upstream(t, needs, out.worker_cap);
    t.drain = std::max(t.drain, derived_request_deadline(t));
    out.t = t;
    return out;
}

chain_plan solve_chain(const root& cfg)
{
    chain_plan plan;
    const auto global = global_backends(cfg);
    plan.global = solve_path(cfg, cfg.timeouts, global, plan).t;
    std::vector<std::pair<timeouts, std::size_t>> paths;
    for (const auto bi : global) paths.emplace_back(plan.global, bi);
    for (std::size_t li = 0; li < cfg.listeners.size(); ++li) {
        for (std::size_t ri = 0; ri < cfg.listeners[li].routes.size(); ++ri) {
            const auto& r = cfg.listeners[li].routes[ri];
            if (!overrides_any(r.timeouts)) continue;
            const backend* b = cfg.find_backend(r.backend);
            std::vector<std::size_t> bis;
            if (b) bis.push_back(static_cast<std::size_t>(b - cfg.backends.data()));
            const auto solved = solve_path(cfg, apply(plan.global, r.timeouts), bis, plan).t;
            plan.routes[{li, ri}] = solved;
            for (const auto bi : bis) paths.emplace_back(solved, bi);
            if (!r.timeouts.drain)
                plan.global.drain = std::max(plan.global.drain, derived_request_deadline(solved));
        }
    }
    for (auto& [at, t] : plan.routes)
        if (!cfg.listeners[at.first].routes[at.second].timeouts.drain) t.drain = plan.global.drain;
    plan_buffering(cfg, paths, plan);
    return plan;
}

}  // namespace chain_rules

namespace {

using chain_rules::index;

std::size_t number(const std::ssub_match& m)
{
    std::size_t n = 0;
    std::from_chars(m.first.base(), m.second.base(), n);
    return n;
}

bool set_timeout(std::string_view field, duration d, timeouts* global, timeout_overrides* route)
{
    for (const auto& f : timeout_fields) {
        if (f.key != field) continue;
        if (global) global->*f.value = d;
        if (route) route->*f.override_value = d;
        return true;
    }
    return false;
}

bool set_server(server& s, std::string_view field, duration d)
{
    if (field == "worker_timeout") {
        s.worker_timeout = d;
        return true;
    }
    if (field != "keepalive_timeout") return false;
    s.keepalive_timeout = d;
    s.keepalive_timeout_declared = true;
    return true;
}

bool set_backend(root& cfg, std::size_t bi, const std::string& rest, const std::string& value)
{
    if (bi >= cfg.backends.size()) return false;
    auto& b = cfg.backends[bi];
    if (rest == "buffering.request" || rest == "buffering.response") {
        if (value != "on" && value != "off") return false;
        (rest == "buffering.request" ? b.buffering.request : b.buffering.response) = value == "on";
        return true;
    }
    const auto d = parse_duration(value);
    if (!d) return false;
    if (rest == "keepalive.idle_timeout") {
        b.keepalive.idle_timeout = *d;
        b.keepalive.idle_timeout_declared = true;
        return true;
    }
    if (rest == "health.timeout") {
        if (b.health) b.health->timeout = *d;
        return b.health.has_value();
    }
    static const std::regex server_key(R"(servers\[(\d+)\]\.(\w+))");
    std::smatch m;
    if (std::regex_match(rest, m, server_key)) {
        const auto si = number(m[1]);
        return si < b.servers.size() && set_server(b.servers[si], m[2].str(), *d);
    }
    if (!rest.starts_with("server_defaults.")) return false;
    // A server that sets its own value keeps it; the loader left its mark on its own key.
    const auto field = rest.substr(std::string_view("server_defaults.").size());
    bool known = true;
    for (std::size_t si = 0; si < b.servers.size(); ++si) {
        const auto own = index("backends", bi) + "." + index("servers", si) + "." + field;
        const auto mark = cfg.marks.find(own);
        if (mark == cfg.marks.end() || mark->second.path != own)
            known = set_server(b.servers[si], field, *d) && known;
    }
    return known;
}

}  // namespace

bool apply_change(root& cfg, const change& c)
{
    static const std::regex global(R"(timeouts\.(\w+))");
    static const std::regex route(R"(listeners\[(\d+)\]\.routes\[(\d+)\]\.timeouts\.(\w+))");
    static const std::regex backend(R"(backends\[(\d+)\]\.(.+))");
    std::smatch m;
    const auto d = parse_duration(c.value);
    if (std::regex_match(c.key, m, global))
        return d && set_timeout(m[1].str(), *d, &cfg.timeouts, nullptr);
    if (std::regex_match(c.key, m, route)) {
        const auto li = number(m[1]), ri = number(m[2]);
        if (!d || li >= cfg.listeners.size() || ri >= cfg.listeners[li].routes.size()) return false;
        return set_timeout(m[3].str(), *d, nullptr, &cfg.listeners[li].routes[ri].timeouts);
    }
    if (std::regex_match(c.key, m, backend))
        return set_backend(cfg, number(m[1]), m[2].str(), c.value);
    return false;
}

}  // namespace sluice::config
