#pragma once
// One server's state (SPEC.md "Server states"): up, busy, down or maint, fed by active check
// results, agent replies and passive request outcomes. Pure: no sockets, timers or locks; the
// caller says what happened and when, and logs and counts the transitions it gets back.
//
// The state is derived from independent reasons, each set and cleared only by its own source:
//   maint  the admin API said "maint"                           (cleared by API "ready")
//          the agent said "maint"                               (cleared by agent "ready")
//   down   `fall` checks failed in a row                        (cleared by `rise` answers)
//          the agent said down / fail / stopped                 (cleared by agent "up" only)
//          ejected by passive checks                            (cleared by a passing check or
//                                                                when `ejection` has passed)
//   busy   the admin API said "drain" or set the weight to 0    (cleared by API "ready" / weight)
//          the last check answered a busy_status                (cleared by a passing check)
//          the agent said "drain"                               (cleared by agent "ready")
//          the agent set the weight to 0                        (cleared by a weight above 0)
//   up     none of the above.
// The first state in that list with a reason wins, so an HTTP pass never undoes the agent's
// down or drain, and an agent "up" never brings back a server whose HTTP check fails (HAProxy
// behaves the same way). A weight set by the API replaces the agent's (api_override.hpp).
// set_by() says whose reason decided the state, for /status: within a state the API's reason
// comes first, then the agent's, then the checks' (active and passive alike).
//
// Servers start up, checks or not, as in HAProxy: `fall` failed checks take a dead one down
// within fall × interval, whereas starting down would refuse all traffic for rise × interval
// after every start. A check answered with busy_status shows the server is reachable, so it
// counts towards `rise` like a pass (the server then comes back busy, not up). A server found
// by DNS discovery is the exception (await_first_check): it may be a pod still starting.

#include "config/model.hpp"
#include "health/agent_reply.hpp"
#include "health/api_override.hpp"

#include <chrono>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::health {

using clock = std::chrono::steady_clock;

enum class server_status { up, busy, down, maint };
std::string_view to_string(server_status s);
std::ostream& operator<<(std::ostream& out, server_status s);  // for logs and test failures

// Whose reason put a server in its state; `check` also for a server up with no reason at all.
enum class state_setter { check, agent, api };
std::string_view to_string(state_setter s);

struct transition {
    server_status from, to;
    std::string cause;  // "3 failed checks: connect refused", "agent: drain (#deploying)", ...

    bool operator==(const transition&) const = default;
};

// One active check's outcome. `detail` says what was seen, for the log and /status: the
// status code for a pass or busy answer, the reason for a failure ("connect refused",
// "timed out", "answered 500").
//   pass       answered an expect_status
//   fail       no answer, or another status; `timed_out` when the check's timeout ended it
//   busy       answered a busy_status: reachable, but takes no new requests
//   saturated  timed out while the server was busy, not broken (busy_timeout.hpp): no evidence
//              either way, so it counts towards neither rise nor fall
// Metrics count busy and saturated alike as result="busy".
struct check_result {
    enum class kind { pass, fail, busy, saturated };
    kind outcome = kind::pass;
    std::string detail;
    bool timed_out = false;

    static check_result passed(std::string detail = {}) { return {kind::pass, std::move(detail)}; }
    static check_result failed(std::string reason) { return {kind::fail, std::move(reason)}; }
    static check_result timeout() { return {kind::fail, "timed out", true}; }
    static check_result busy(unsigned status) { return {kind::busy, std::to_string(status)}; }
    static check_result saturated(std::string why) { return {kind::saturated, std::move(why)}; }
};
std::string_view metric_label(check_result::kind k);  // "pass", "fail" or "busy"

// The lowest share of its weight a server gets when it starts its slow-start ramp, so that a
// returning server receives *some* traffic at once instead of none until the first step.
inline constexpr double slow_start_floor = 0.01;

class server_state {
public:
    // `health` may be null: no active checks (then rise and fall count as 1 for any results).
    server_state(const config::health* health, const config::passive& passive,
                 config::duration slow_start, unsigned configured_weight,
                 unsigned configured_max_connections);

    // A reload changed this server's settings; its state (checks, agent, ejection) stays.
    void reconfigure(const config::health* health, const config::passive& passive,
                     config::duration slow_start, unsigned configured_weight,
                     unsigned configured_max_connections);

    // A server that DNS discovery just found, with checks configured (SPEC.md "Servers found by
    // DNS"): down until its first check that answers, which alone brings it up (then slow start)
    // rather than `rise` of them. A new pod may be in the answer before it listens.
    void await_first_check(clock::time_point now);

    // Each returns the transition when the event changes the state, else nullopt.
    std::optional<transition> on_check(const check_result& r, clock::time_point now);
    std::optional<transition> on_agent(const agent_reply& a, clock::time_point now);
    // An unreachable agent is not a failure (SPEC.md): the HTTP check decides reachability.
    // Only remembered for /status.
    std::optional<transition> on_agent_unreachable(clock::time_point now);
    // The admin API replaced its override (see api_override.hpp for what a change does).
    std::optional<transition> on_api(const api_override& next, clock::time_point now);
    // Passive check: a request outcome on this server (connect failure, reset, timeout or
    // 502/503/504 count as failed). `ejection_allowed` is the caller's max_ejected verdict for
    // the backend; when it is false the server stays in and is ejected by a later failure once
    // allowed. `what` names the failure for the log ("502", "connect refused").
    std::optional<transition> on_request_result(bool failed, clock::time_point now,
                                                bool ejection_allowed, std::string_view what = {});
    // Ends an ejection whose time has passed; call it at least as often as requests arrive.
    std::optional<transition> tick(clock::time_point now);

    server_status status() const { return status_; }
    state_setter set_by() const;
    const api_override& api() const { return api_; }
    // When the last active check ended; nullopt before the first.
    std::optional<clock::time_point> last_check_at() const { return last_check_at_; }
    bool ejected() const { return ejected_until_.has_value(); }
    // 0 unless up; the configured weight (or the agent's) × the slow-start ramp.
    double effective_weight(clock::time_point now) const;
    // Linear from slow_start_floor to 1 over slow_start after coming back from down or maint.
    double slow_start_factor(clock::time_point now) const;
    unsigned max_connections() const;  // configured, or the agent's maxconn (0 = no limit)
    bool takes_new_requests(clock::time_point now) const;
    // "check passed: 200; agent: 75% drain (#deploying)": the last of each, for /status.
    std::string last_check_summary() const;
    // Why the server is in its state: the cause of its last transition ("" while it never left
    // up), e.g. "3 checks in a row, last failed: connect: Connection refused".
    const std::string& cause() const { return cause_; }

private:
    server_status derive() const;
    std::optional<transition> settle(std::string cause, clock::time_point now);
    std::string count_check(const check_result& r);
    // The configured weight with the API's change applied, else the agent's.
    double adjusted_weight() const;
    bool zero_weight_set() const;  // the API or the agent set a weight that comes to 0

    unsigned rise_, fall_;
    config::passive passive_;
    clock::duration slow_start_;
    unsigned configured_weight_, configured_max_connections_;

    server_status status_ = server_status::up;
    // Active checks: `streak_` counts results that disagree with check_down_.
    bool check_down_ = false, check_busy_ = false;
    bool first_check_pending_ = false;  // await_first_check: one answer is enough to come up
    unsigned streak_ = 0;
    // The agent's own reasons and values; nullopt = never sent.
    agent_admin admin_ = agent_admin::ready;
    bool agent_down_ = false;
    std::optional<agent_weight> agent_weight_;
    std::optional<unsigned> agent_max_connections_;
    api_override api_;
    // Passive checks.
    unsigned passive_failures_ = 0;
    std::optional<clock::time_point> ejected_until_;
    unsigned ejection_passes_ = 0;  // checks passed in a row since the ejection began
    // Slow start: set when the server goes down or maint, consumed when it is next up.
    bool cold_ = false;
    std::optional<clock::time_point> ramp_from_;
    std::string last_check_, last_agent_, cause_;
    std::optional<clock::time_point> last_check_at_;
};

// Why no server of a backend takes requests, for the 503 a request gets after waiting for one:
// "every server is down: app1 (3 checks in a row, last failed: timed out); app2 (...)", or
// "no server is up: ..." when some are busy or maint. "" when a server is up.
struct named_state {
    std::string_view name;
    const server_state* state;
};
std::string unavailable_reason(const std::vector<named_state>& servers);

}  // namespace sluice::health
