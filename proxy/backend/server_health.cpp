#include "proxy/backend/server_health.hpp"

#include "proxy/backend/edge_share.hpp"
#include "proxy/backend/server_runtime.hpp"
#include "proxy/backend/slot_table.hpp"
#include "proxy/log/event_log.hpp"

#include <algorithm>

namespace sluice::proxy {

server_health::server_health(const std::string& backend, slot_table& slots,
                             const std::vector<std::unique_ptr<server_runtime>>& servers,
                             const std::vector<std::size_t>& active)
    : backend_(backend), slots_(slots), servers_(servers), active_(active)
{
}

std::vector<request_queue::grant> server_health::refresh(request_queue& queue, std::size_t server,
                                                         clock::time_point now) const
{
    const auto& record = *servers_[server];
    if (record.retired)  // keeps its in-flight requests, takes no new ones
        return queue.set_server(server, queue.server(server).max_connections, 0);
    return queue.set_server(server, edge_share(record.state->max_connections(), peers_),
                            record.state->effective_weight(now));
}

std::vector<request_queue::grant> server_health::refresh_all(request_queue& queue,
                                                             clock::time_point now) const
{
    std::vector<request_queue::grant> grants;
    for (std::size_t j = 0; j < servers_.size(); ++j) {
        auto g = refresh(queue, j, now);
        grants.insert(grants.end(), g.begin(), g.end());
    }
    return grants;
}

bool server_health::ejection_allowed() const
{
    std::size_t ejected = 0;
    for (auto i : active_) ejected += servers_[i]->state->ejected() ? 1 : 0;
    // At least one server may always be ejected, as in Envoy: otherwise a one-server backend
    // could never stop sending to a dead server.
    const auto limit = std::max<std::size_t>(1, active_.size() * max_ejected_percent_ / 100);
    return ejected < limit;
}

// Runs `event` on a server's state under the lock, puts the result into the slot table, and
// logs a transition once the lock is released.
template <class Event>
void server_health::handle(std::size_t server, Event&& event)
{
    const auto now = clock::now();
    std::optional<health::transition> t;
    std::string name;
    slots_.update([&](request_queue& queue) {
        auto& record = *servers_[server];
        t = event(*record.state, now);
        name = record.name;
        return refresh(queue, server, now);
    });
    if (t)
        log_event(t->to == health::server_status::up ? severity::info : severity::warning,
                  "server " + backend_ + "/" + name + ": " + std::string(to_string(t->from)) +
                      " -> " + std::string(to_string(t->to)) + " (" + t->cause + ")");
}

void server_health::report_result(std::size_t server, bool failed, std::string_view what)
{
    (failed ? servers_[server]->failed : servers_[server]->answered)
        .fetch_add(1, std::memory_order_relaxed);
    auto& streak = servers_[server]->failure_streak;
    if (!failed && streak.load(std::memory_order_relaxed) == 0)
        return;  // the common case: nothing to reset, no lock
    streak.store(failed ? 1 : 0, std::memory_order_relaxed);
    handle(server, [&](health::server_state& s, clock::time_point now) {
        return s.on_request_result(failed, now, ejection_allowed(), what);
    });
}

void server_health::on_check(std::size_t server, const health::check_result& r)
{
    handle(server,
           [&](health::server_state& s, clock::time_point now) { return s.on_check(r, now); });
}

void server_health::on_agent(std::size_t server, const health::agent_reply& r)
{
    handle(server,
           [&](health::server_state& s, clock::time_point now) { return s.on_agent(r, now); });
}

void server_health::on_agent_unreachable(std::size_t server)
{
    handle(server, [&](health::server_state& s, clock::time_point now) {
        return s.on_agent_unreachable(now);
    });
}

std::optional<server_health::api_outcome> server_health::on_api(std::string_view server,
                                                                const health::api_change& change)
{
    const auto now = clock::now();
    std::optional<api_outcome> out;
    slots_.update([&](request_queue& queue) {
        const auto it = std::find_if(active_.begin(), active_.end(),
                                     [&](std::size_t i) { return servers_[i]->name == server; });
        if (it == active_.end()) return std::vector<request_queue::grant>{};
        auto& state = *servers_[*it]->state;
        const auto from = state.status();
        const auto next = health::apply(state.api(), change);
        state.on_api(next, now);
        out = api_outcome{*it, from, state.status(), describe(next)};
        return refresh(queue, *it, now);
    });
    return out;
}

void server_health::tick()
{
    const auto now = clock::now();
    std::vector<std::string> lines;
    slots_.update([&](request_queue& queue) {
        std::vector<request_queue::grant> grants;
        for (auto i : active_) {
            if (auto t = servers_[i]->state->tick(now))
                lines.push_back("server " + backend_ + "/" + servers_[i]->name + ": " +
                                std::string(to_string(t->from)) + " -> " +
                                std::string(to_string(t->to)) + " (" + t->cause + ")");
            // A slow-start ramp moves on even without a transition.
            auto g = refresh(queue, i, now);
            grants.insert(grants.end(), g.begin(), g.end());
        }
        return grants;
    });
    for (const auto& line : lines) log_event(severity::info, line);
}

bool server_health::has_server_up() const
{
    return slots_.inspect([&](const request_queue&) {
        return std::any_of(active_.begin(), active_.end(), [&](std::size_t i) {
            return servers_[i]->state->status() == health::server_status::up;
        });
    });
}

std::string server_health::unavailable_reason() const
{
    return slots_.inspect([&](const request_queue&) {
        std::vector<health::named_state> servers;
        for (auto i : active_) servers.push_back({servers_[i]->name, &*servers_[i]->state});
        return health::unavailable_reason(servers);
    });
}

health::server_activity server_health::activity(std::size_t server) const
{
    const auto answered = servers_[server]->answered.load(std::memory_order_relaxed);
    return slots_.inspect([&](const request_queue& queue) {
        const auto& slots = queue.server(server);
        return health::server_activity{slots.in_flight, slots.max_connections, answered};
    });
}

}  // namespace sluice::proxy
