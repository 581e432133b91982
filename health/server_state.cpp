#include "health/server_state.hpp"

#include "config/units.hpp"

#include <algorithm>
#include <array>
#include <ostream>

namespace sluice::health {

std::string_view to_string(server_status s)
{
    constexpr std::array<std::string_view, 4> names{"up", "busy", "down", "maint"};
    return names[static_cast<std::size_t>(s)];
}

std::ostream& operator<<(std::ostream& out, server_status s) { return out << to_string(s); }

std::string_view to_string(state_setter s)
{
    constexpr std::array<std::string_view, 3> names{"check", "agent", "api"};
    return names[static_cast<std::size_t>(s)];
}

std::string_view metric_label(check_result::kind k)
{
    constexpr std::array<std::string_view, 4> names{"pass", "fail", "busy", "busy"};
    return names[static_cast<std::size_t>(k)];
}

server_state::server_state(const config::health* health, const config::passive& passive,
                           config::duration slow_start, unsigned configured_weight,
                           unsigned configured_max_connections)
    : rise_(health ? std::max(health->rise, 1u) : 1),
      fall_(health ? std::max(health->fall, 1u) : 1), passive_(passive), slow_start_(slow_start),
      configured_weight_(configured_weight), configured_max_connections_(configured_max_connections)
{
}

void server_state::reconfigure(const config::health* health, const config::passive& passive,
                               config::duration slow_start, unsigned configured_weight,
                               unsigned configured_max_connections)
{
    rise_ = health ? std::max(health->rise, 1u) : 1;
    fall_ = health ? std::max(health->fall, 1u) : 1;
    passive_ = passive;
    slow_start_ = slow_start;
    configured_weight_ = configured_weight;
    configured_max_connections_ = configured_max_connections;
}

void server_state::await_first_check(clock::time_point now)
{
    check_down_ = true;
    first_check_pending_ = true;
    streak_ = 0;
    settle("found by DNS, not checked yet", now);
}

std::optional<transition> server_state::on_check(const check_result& r, clock::time_point now)
{
    auto cause = count_check(r);
    // Passes prove the server serves again and end a passive ejection early, but `rise` of them
    // in a row, as for a server the checks took down (HAProxy's way back from `on-error
    // mark-down`): one pass ended it, and a server whose check page works while its requests
    // fail went out and back in each check interval, failing the requests of every round.
    if (ejected_until_) {
        ejection_passes_ = r.outcome == check_result::kind::pass ? ejection_passes_ + 1 : 0;
        if (ejection_passes_ >= rise_) {
            ejected_until_.reset();
            cause += rise_ == 1 ? ", ends the ejection"
                                : ", " + std::to_string(rise_) + " in a row end the ejection";
        }
    }
    last_check_ = cause;
    last_check_at_ = now;
    return settle(std::move(cause), now);
}

// Counts the result towards rise or fall and says what happened, in the words of the log.
std::string server_state::count_check(const check_result& r)
{
    using kind = check_result::kind;
    if (r.outcome == kind::saturated)  // no evidence either way: the streak stays as it is
        return "check busy, not counted: " + r.detail;
    if (r.outcome == kind::busy) check_busy_ = true;
    if (r.outcome == kind::pass) check_busy_ = false;
    const bool answered = r.outcome != kind::fail;
    const std::string detail = r.detail.empty() ? "" : ": " + r.detail;
    const std::string what = r.outcome == kind::fail   ? "failed" + detail
                             : r.outcome == kind::busy ? "answered " + r.detail + " (busy_status)"
                                                       : "passed" + detail;
    if (answered != check_down_) {  // agrees with the current check state
        streak_ = 0;
        return "check " + what;
    }
    const unsigned needed = !check_down_ ? fall_ : first_check_pending_ ? 1 : rise_;
    if (++streak_ < needed) {
        return "check " + what + " (" + std::to_string(streak_) + " of " + std::to_string(needed) +
               " to go " + (check_down_ ? "up" : "down") + ")";
    }
    check_down_ = !check_down_;
    streak_ = 0;
    if (first_check_pending_) {
        first_check_pending_ = false;
        return "first check " + what;
    }
    if (needed == 1) return "check " + what;
    return std::to_string(needed) + " checks in a row, last " + what;
}

std::optional<transition> server_state::on_agent(const agent_reply& a, clock::time_point now)
{
    if (a.admin) admin_ = *a.admin;
    if (a.health) agent_down_ = means_down(*a.health);
    if (a.weight) agent_weight_ = a.weight;
    if (a.max_connections) agent_max_connections_ = a.max_connections;
    auto words = describe(a);
    last_agent_ = "agent: " + (words.empty() ? std::string("nothing to change") : words);
    return settle(last_agent_, now);
}

std::optional<transition> server_state::on_api(const api_override& next, clock::time_point now)
{
    api_ = next;
    const auto words = describe(next);
    return settle("admin API: " + (words.empty() ? std::string("ready") : words), now);
}

std::optional<transition> server_state::on_agent_unreachable(clock::time_point)
{
    last_agent_ = "agent unreachable (ignored; the check decides)";
    return std::nullopt;
}

std::optional<transition> server_state::on_request_result(bool failed, clock::time_point now,
                                                          bool ejection_allowed,
                                                          std::string_view what)
{
    const unsigned limit = passive_.consecutive_failures;
    // A server out of service gets no new requests; late failures of its in-flight ones say
    // nothing new and must not prolong or repeat an ejection.
    if (limit == 0 || status_ == server_status::down || status_ == server_status::maint)
        return std::nullopt;
    if (!failed) {
        passive_failures_ = 0;
        return std::nullopt;
    }
    passive_failures_ = std::min(passive_failures_ + 1, limit);
    if (passive_failures_ < limit || !ejection_allowed) return std::nullopt;
    passive_failures_ = 0;
    ejection_passes_ = 0;
    ejected_until_ = now + passive_.ejection;
    auto cause = "ejected for " + config::format_duration(passive_.ejection) + ": " +
                 std::to_string(limit) + " consecutive failures";
    if (!what.empty()) cause += ", last " + std::string(what);
    return settle(std::move(cause), now);
}

std::optional<transition> server_state::tick(clock::time_point now)
{
    if (!ejected_until_ || now < *ejected_until_) return std::nullopt;
    ejected_until_.reset();
    return settle("ejection over after " + config::format_duration(passive_.ejection), now);
}

// The first reason in the header's list wins.
server_status server_state::derive() const
{
    if (api_.admin == agent_admin::maint || admin_ == agent_admin::maint)
        return server_status::maint;
    if (check_down_ || agent_down_ || ejected_until_) return server_status::down;
    if (check_busy_ || api_.admin == agent_admin::drain || admin_ == agent_admin::drain ||
        zero_weight_set())
        return server_status::busy;
    return server_status::up;
}

state_setter server_state::set_by() const
{
    using enum state_setter;
    switch (status_) {
    case server_status::maint: return api_.admin == agent_admin::maint ? api : agent;
    case server_status::down: return check_down_ || ejected_until_ ? check : agent;
    case server_status::busy:
        if (api_.admin == agent_admin::drain || (api_.weight && zero_weight_set())) return api;
        return admin_ == agent_admin::drain || zero_weight_set() ? agent : check;
    default: return check;
    }
}

bool server_state::zero_weight_set() const
{
    return (api_.weight || agent_weight_) && adjusted_weight() <= 0;
}

std::optional<transition> server_state::settle(std::string cause, clock::time_point now)
{
    const auto next = derive();
    if (next == status_) return std::nullopt;
    cause_ = cause;
    transition t{status_, next, std::move(cause)};
    status_ = next;
    if (next == server_status::down || next == server_status::maint) {
        cold_ = true;  // whatever brings it back, it starts with a ramp
        passive_failures_ = 0;
    } else if (next == server_status::up && cold_) {
        cold_ = false;
        ramp_from_ = now;
    }
    return t;
}

// HAProxy semantics: N% scales the configured weight, weight:N replaces it; both cap at 256.
// Unlike HAProxy the result is not rounded down, so 50% of weight 1 is 0.5, not 0.
double server_state::adjusted_weight() const
{
    const auto& change = api_.weight ? api_.weight : agent_weight_;
    if (!change) return configured_weight_;
    const double w = change->relative ? configured_weight_ * (change->value / 100.0)
                                      : change->value;
    return std::min(w, double(agent_max_weight));
}

double server_state::slow_start_factor(clock::time_point now) const
{
    if (!ramp_from_ || slow_start_ <= clock::duration::zero()) return 1.0;
    const auto elapsed = now - *ramp_from_;
    if (elapsed >= slow_start_) return 1.0;
    const double share = std::chrono::duration<double>(elapsed) / slow_start_;
    return std::max(slow_start_floor, share);
}

double server_state::effective_weight(clock::time_point now) const
{
    if (status_ != server_status::up) return 0.0;
    return adjusted_weight() * slow_start_factor(now);
}

unsigned server_state::max_connections() const
{
    return agent_max_connections_.value_or(configured_max_connections_);
}

bool server_state::takes_new_requests(clock::time_point now) const
{
    return effective_weight(now) > 0;
}

std::string server_state::last_check_summary() const
{
    if (last_check_.empty() && last_agent_.empty()) return "no check yet";
    if (last_agent_.empty()) return last_check_;
    if (last_check_.empty()) return last_agent_;
    return last_check_ + "; " + last_agent_;
}

std::string unavailable_reason(const std::vector<named_state>& servers)
{
    if (servers.empty()) return "the backend has no server";
    bool all_down = true;
    for (const auto& s : servers) {
        if (s.state->status() == server_status::up) return "";
        all_down = all_down && s.state->status() == server_status::down;
    }
    std::string out = all_down ? "every server is down: " : "no server is up: ";
    for (std::size_t i = 0; i < servers.size(); ++i) {
        const auto& [name, state] = servers[i];
        if (i > 0) out += "; ";
        out += name;
        if (!all_down) out.append(" ").append(to_string(state->status()));
        if (!state->cause().empty()) out.append(" (").append(state->cause()).append(")");
    }
    return out;
}

}  // namespace sluice::health
