#pragma once
// The timeout chain of `sluice check`: every hop from the load balancer in front to the app
// server's workers, side by side, and the misalignments between them as plain sentences with
// the key that fixes each. Timeouts set independently per hop are how requests vanish (the LB
// gives up first), how pooled sockets die (the app closes them first) and how work is abandoned
// (the proxy gives up while the app keeps going); see SPEC.md "Timeout chain".
//
// Pure: config model in, report out. `sluice check` prints it; `sluice run` logs its findings and
// refuses to start on an error, as `check` fails on one (SPEC.md "check and run agree").

#include "config/model.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::config {

// One key to edit and the value to give it, as written in YAML: {"timeouts.queue", "22s"}.
struct change {
    std::string key;
    std::string value;
    bool operator==(const change&) const = default;
};

struct finding {
    // A note is a conclusion drawn from an assumed value (an undeclared keep-alive): worth
    // reading, nothing to fix, never a failure, even with --strict.
    enum class severity { error, warning, note };
    severity level = severity::warning;
    std::string rule;   // short id: "client_idle_vs_upstream_idle"
    std::string where;  // "listeners[0] (web) -> routes[1] -> backends[0] (app)"
    std::string what;   // what happens in production, one plain sentence
    std::string fix;    // the exact key and value: "set timeouts.client_idle to 75s (...)"
    // The fix as edits, taken from one solution of the whole chain: the changes of every
    // finding, applied together, leave no finding. Empty when the value is the operator's to
    // know (a worker count) or for a note.
    std::vector<change> changes;
};

// One path a request can take: listener -> route (or default backend) -> backend -> server,
// with every timeout that applies on it.
struct hop_row {
    std::string path;  // "web -> routes[0] -> deployer -> deploy1", "web -> default -> app -> app1"
    timeouts effective;               // global timeouts with the route's overrides applied
    duration keepalive_timeout{};     // the app server's own idle timeout
    bool keepalive_declared = false;  // false: assumed 2 s (gunicorn's default)
    std::optional<duration> worker_timeout;
    duration pool_idle_timeout{};
    std::optional<duration> health_interval, health_timeout;
    duration request_deadline{};  // `request`, or derived from the chain when 0
};

struct chain_report {
    std::vector<hop_row> rows;
    std::vector<finding> findings;  // errors first; each finding once even if many paths hit it
    std::vector<finding> notes;     // severity::note, apart: "no findings" means aligned
};

chain_report analyze_timeouts(const root& cfg);

// The per-request deadline: `request` when set; else queue + connect + server, capped strictly
// below upstream_idle (by max(1 s, 5 %)) when that is set, so the proxy answers 504 itself before
// the LB in front gives up on the request and drops it without a log line.
duration derived_request_deadline(const timeouts& t);

// Whether `sluice check` succeeds: no errors, and with --strict no warnings either.
bool passes(const chain_report& report, bool strict);
std::size_t error_count(const chain_report& report);

// Sets one change's key on a resolved config as the loader would have (a server_defaults key
// reaches the servers that do not set their own). False for a key or value it does not know.
bool apply_change(root& cfg, const change& c);

// One log line: "timeout chain: WHERE: WHAT Fix: FIX" (a note says "Note:" and has no fix).
std::string log_line(const finding& f);

// A fixed-width table of the hops, then each finding as sentences, then a count.
std::string format_table(const chain_report& report);
// One JSON object: {"ok": passes(report, strict), "findings": [...], "rows": [...]}; durations in
// milliseconds (`*_ms`), absent optional values as null. `more` is further members, already JSON
// and comma-separated (`"discovery": [...]`), for what `sluice check` finds beyond the chain.
std::string format_json(const chain_report& report, bool strict = false,
                        std::string_view more = {});

}  // namespace sluice::config
