#pragma once
// The timeout chain of `sluice check`: every hop from the load balancer in front to the app
// server's workers, side by side, and the misalignments between them as plain sentences with
// the key that fixes each. Timeouts set independently per hop are how requests vanish (the LB
// gives up first), how pooled sockets die (the app closes them first) and how work is abandoned
// (the proxy gives up while the app keeps going); see SPEC.md "Timeout chain".
//
// Pure: config model in, report out. `sluice check` prints it; `sluice run` logs its findings.

#include "config/model.hpp"

#include <optional>
#include <string>
#include <vector>

namespace sluice::config {

struct finding {
    enum class severity { error, warning };
    severity level = severity::warning;
    std::string rule;   // short id: "client_idle_vs_upstream_idle"
    std::string where;  // "listeners[0] (web) -> routes[1] -> backends[0] (app)"
    std::string what;   // what happens in production, one plain sentence
    std::string fix;    // the exact key and value: "set timeouts.client_idle to 75s (...)"
};

// One path a request can take: listener -> route (or default backend) -> backend -> server,
// with every timeout that applies on it.
struct hop_row {
    std::string path;  // "web -> routes[0] -> deployer -> deploy1", "web -> default -> app -> app1"
    timeouts effective;   // global timeouts with the route's overrides applied
    duration keepalive_timeout{};  // the app server's own idle timeout
    bool keepalive_declared = false;  // false: assumed 2 s (gunicorn's default)
    std::optional<duration> worker_timeout;
    duration pool_idle_timeout{};
    std::optional<duration> health_interval, health_timeout;
    duration request_deadline{};  // `request`, or derived from the chain when 0
};

struct chain_report {
    std::vector<hop_row> rows;
    std::vector<finding> findings;  // errors first; each finding once even if many paths hit it
};

chain_report analyze_timeouts(const root& cfg);

// The per-request deadline: `request` when set; else queue + connect + server, capped strictly
// below upstream_idle (by max(1 s, 5 %)) when that is set, so the proxy answers 504 itself before
// the LB in front gives up on the request and drops it without a log line.
duration derived_request_deadline(const timeouts& t);

// Whether `sluice check` succeeds: no errors, and with --strict no warnings either.
bool passes(const chain_report& report, bool strict);

// A fixed-width table of the hops, then each finding as sentences, then a count.
std::string format_table(const chain_report& report);
// One JSON object: {"ok": passes(report, strict), "findings": [...], "rows": [...]}; durations in
// milliseconds (`*_ms`), absent optional values as null.
std::string format_json(const chain_report& report, bool strict = false);

}  // namespace sluice::config
