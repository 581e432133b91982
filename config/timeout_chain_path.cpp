// The timeout-chain rules about one backend on one path: its queue timeout, its buffering and
// each server's worker_timeout, against the timeouts of that path (global, or a route's).
// Severities are argued at the top of timeout_chain.cpp.
#include "config/timeout_chain_rules.hpp"

namespace sluice::config::chain_rules {
namespace {

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
            set_text(s.chain_changes()) + " (how long a request may wait for a slot)",
            s.chain_changes());
}

// The plan's lowered worker_timeout for a server, as a change ({} when it keeps its own).
std::vector<change> worker_change(const backend_at& at, std::size_t si, const chain_plan& plan)
{
    const auto key = at.server_key(si, "worker_timeout");
    const auto lowered = plan.workers.find(key);
    if (lowered == plan.workers.end()) return {};
    return {{key, text(lowered->second)}};
}

void check_worker_timeout(const scope& s, const backend_at& at, std::size_t si,
                          const chain_plan& plan, findings_list& out)
{
    const auto& srv = at.b.servers[si];
    if (!srv.worker_timeout) return;
    const auto& t = s.t;
    const duration worker = *srv.worker_timeout, deadline = derived_request_deadline(t);
    const auto worker_key = at.server_key(si, "worker_timeout");
    const auto lowered = worker_change(at, si, plan);
    const auto changes = s.chain_changes() + lowered;
    // Lowering the app's own timeout is the plan's last resort; otherwise it is the alternative.
    const auto alternative = lowered.empty() ? "lower " + worker_key + " to "
                                             : raise_lb(s, above(t.queue + t.connect + worker));
    if (t.server < worker) {
        out.add(severity::warning, "server_vs_worker_timeout", s.prefix + at.server_where(si),
                "sluice stops waiting for " + srv.name + " after server " + text(t.server) +
                    " and answers 504, but the app keeps working on the request for up to "
                    "worker_timeout " +
                    text(worker) +
                    ": the work is wasted, and the freed "
                    "slot sends the next request to a worker that is still busy.",
                set_text(changes) + " (so the app's own timeout ends the request first), or " +
                    alternative + (lowered.empty() ? text(below(t.server)) : ""),
                changes);
        return;
    }
    if (deadline >= worker) return;
    const bool derived = t.request == 0s;  // then only upstream_idle can cap it below worker
    out.add(severity::warning, "request_deadline_vs_worker_timeout", s.prefix + at.server_where(si),
            "every request here ends by the request deadline " + text(deadline) +
                (derived ? " (derived: below the load balancer's " + text(t.upstream_idle) +
                               " idle timeout)"
                         : " (timeouts.request)") +
                ", while " + srv.name + " may work on it for up to worker_timeout " + text(worker) +
                ": longer requests get a 504 while the app keeps going.",
            (changes.empty() ? "" : set_text(changes) + ", or ") + alternative +
                (lowered.empty() ? text(below(deadline)) : ""),
            changes);
}

// Without buffering a sync worker reads the body as the client sends it and writes the response
// as the client takes it: a client pause as long as worker_timeout gets the worker killed.
void check_unbuffered(const scope& s, const backend_at& at, const chain_plan& plan,
                      findings_list& out)
{
    const auto& b = at.b;
    const auto shortest = std::ranges::min_element(b.servers, {}, [](const server& srv) {
        return srv.worker_timeout.value_or(duration::max());
    });
    if (shortest == b.servers.end() || !shortest->worker_timeout) return;
    const duration worker = *shortest->worker_timeout;
    struct direction {
        bool buffered;
        std::string_view key, rule, pause, what;
        const std::set<std::size_t>& planned;
    };
    const direction directions[] = {
        {b.buffering.request, "client_body", "client_body_vs_worker_timeout", "upload",
         "request body", plan.buffer_request},
        {b.buffering.response, "client_send", "client_send_vs_worker_timeout", "download",
         "response", plan.buffer_response},
    };
    for (const auto& d : directions) {
        const duration pause = s.t.*
                               std::ranges::find(timeout_fields, d.key, &timeout_field::key)->value;
        if (d.buffered || pause < worker) continue;
        const std::string key = at.key(
            "buffering." + std::string(d.key == "client_body" ? "request" : "response"));
        std::vector<change> changes;
        if (d.planned.contains(at.bi)) changes.push_back({key, "on"});
        out.add(severity::warning, std::string(d.rule), s.prefix + at.where(),
                "buffering of the " + std::string(d.what) + " is off, so a worker of " +
                    shortest->name + " waits while a client pauses its " + std::string(d.pause) +
                    ", for up to " + std::string(d.key) + " " + text(pause) +
                    ", no less than its worker_timeout " + text(worker) +
                    ": the app server kills the worker mid-request and the client gets a 502.",
                set_text(changes) + " (sluice then takes the pause, not the worker), or set " +
                    s.key(d.key) + " to " + text(below(worker)),
                changes);
    }
}

}  // namespace

void check_path(const scope& s, const backend_at& at, const chain_plan& plan, findings_list& out)
{
    check_queue_timeout(s, at, out);
    check_unbuffered(s, at, plan, out);
    for (std::size_t si = 0; si < at.b.servers.size(); ++si)
        check_worker_timeout(s, at, si, plan, out);
}

}  // namespace sluice::config::chain_rules
