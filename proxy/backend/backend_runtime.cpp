#include "proxy/backend/backend_runtime.hpp"

#include "proxy/log/event_log.hpp"
#include "net/socket_address.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <random>
#include <stdexcept>

namespace sluice::proxy {

backend_runtime::backend_runtime(const config::backend& cfg, unsigned threads)
    : name_(cfg.name), threads_(threads),
      queue_(cfg.balance, cfg.queue_max_length, std::random_device{}())
{
    servers_.reserve(max_server_records);
    reconcile(cfg);
}

std::size_t backend_runtime::add_server(const config::server& s,
                                        boost::asio::generic::stream_protocol::endpoint e)
{
    auto server = std::make_unique<server_runtime>();
    server->name = s.name;
    server->address_text = s.address.text;
    server->endpoint = e;
    server->pools.resize(threads_);
    servers_.push_back(std::move(server));
    return queue_.add_server(0, 0);
}

void backend_runtime::reconcile(const config::backend& cfg)
{
    std::vector<boost::asio::generic::stream_protocol::endpoint> endpoints;
    for (const auto& s : cfg.servers)
        endpoints.push_back(net::to_socket_address(s.address));

    std::unique_lock lock(mutex_);
    if (servers_.size() + cfg.servers.size() > max_server_records)
        throw std::runtime_error("backend " + name_ + ": more than " +
                                 std::to_string(max_server_records) +
                                 " server records since start; restart sluice to apply this");
    queue_.set_max_length(cfg.queue_max_length);
    queue_.set_policy(cfg.balance, std::random_device{}());
    max_ejected_percent_ = cfg.passive.max_ejected_percent;
    const auto* health = cfg.health ? &*cfg.health : nullptr;
    const auto now = clock::now();
    std::vector<std::size_t> active;
    for (std::size_t i = 0; i < cfg.servers.size(); ++i) {
        const auto& s = cfg.servers[i];
        std::size_t index = servers_.size();
        const server_runtime* same_name = nullptr;  // of the config so far: the API's word stays
        for (std::size_t j = 0; j < servers_.size(); ++j) {
            if (servers_[j]->name == s.name && servers_[j]->address_text == s.address.text)
                index = j;
            if (servers_[j]->name == s.name && !servers_[j]->retired) same_name = &*servers_[j];
        }
        if (index == servers_.size())
            index = add_server(s, endpoints[i]);
        auto& record = *servers_[index];
        record.retired = false;
        if (record.state) {
            record.state->reconfigure(health, cfg.passive, cfg.slow_start, s.weight,
                                      s.max_connections);
        } else {
            record.state.emplace(health, cfg.passive, cfg.slow_start, s.weight, s.max_connections);
            if (same_name) record.state->on_api(same_name->state->api(), now);
        }
        active.push_back(index);
    }
    for (std::size_t j = 0; j < servers_.size(); ++j)
        servers_[j]->retired =
            std::find(active.begin(), active.end(), j) == active.end();
    active_ = std::move(active);
    std::vector<request_queue::grant> grants;
    for (std::size_t j = 0; j < servers_.size(); ++j) {
        auto g = refresh(j, now);
        grants.insert(grants.end(), g.begin(), g.end());
    }
    publish();
    deliver(std::move(grants), lock);
}

std::vector<std::size_t> backend_runtime::active_servers() const
{
    std::lock_guard lock(mutex_);
    return active_;
}

void backend_runtime::publish()
{
    queue_length_.store(queue_.queue_length(), std::memory_order_relaxed);
    free_slots_.store(queue_.free_slots(), std::memory_order_relaxed);
}

backend_runtime::admission backend_runtime::admit(boost::asio::io_context& io)
{
    std::unique_lock lock(mutex_);
    const auto ticket = next_ticket_++;
    auto a = queue_.admit(ticket);
    publish();
    if (a.result != request_queue::outcome::queued)
        return {a.result, a.server, nullptr};
    auto waiter = std::make_shared<slot_waiter>(io);
    waiter->ticket = ticket;
    waiters_.emplace(ticket, waiter);
    return {a.result, 0, std::move(waiter)};
}

void backend_runtime::release(std::size_t server)
{
    std::unique_lock lock(mutex_);
    auto grants = queue_.release(server);
    publish();
    deliver(std::move(grants), lock);
}

bool backend_runtime::cancel(request_queue::ticket ticket)
{
    std::lock_guard lock(mutex_);
    if (!queue_.cancel(ticket))
        return false;
    waiters_.erase(ticket);
    publish();
    return true;
}

std::vector<request_queue::grant> backend_runtime::refresh(std::size_t server,
                                                           clock::time_point now)
{
    const auto& record = *servers_[server];
    if (record.retired)  // keeps its in-flight requests, takes no new ones
        return queue_.set_server(server, queue_.server(server).max_connections, 0);
    return queue_.set_server(server, record.state->max_connections(),
                             record.state->effective_weight(now));
}

bool backend_runtime::ejection_allowed() const
{
    std::size_t ejected = 0;
    for (auto i : active_)
        ejected += servers_[i]->state->ejected() ? 1 : 0;
    // At least one server may always be ejected, as in Envoy: otherwise a one-server backend
    // could never stop sending to a dead server.
    const auto limit = std::max<std::size_t>(1, active_.size() * max_ejected_percent_ / 100);
    return ejected < limit;
}

// Runs `event` on a server's state under the lock, puts the result into the slot table, and
// logs a transition once the lock is released.
template <class Event>
void backend_runtime::handle(std::size_t server, Event&& event)
{
    const auto now = clock::now();
    std::unique_lock lock(mutex_);
    auto& record = *servers_[server];
    std::optional<health::transition> t = event(*record.state, now);
    auto grants = refresh(server, now);
    publish();
    const std::string name = record.name;
    deliver(std::move(grants), lock);
    if (t)
        log_event(t->to == health::server_status::up ? severity::info : severity::warning,
                  "server " + name_ + "/" + name + ": " + std::string(to_string(t->from)) +
                      " -> " + std::string(to_string(t->to)) + " (" + t->cause + ")");
}

void backend_runtime::report_result(std::size_t server, bool failed, std::string_view what)
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

void backend_runtime::on_check(std::size_t server, const health::check_result& r)
{
    handle(server, [&](health::server_state& s, clock::time_point now) {
        return s.on_check(r, now);
    });
}

void backend_runtime::on_agent(std::size_t server, const health::agent_reply& r)
{
    handle(server, [&](health::server_state& s, clock::time_point now) {
        return s.on_agent(r, now);
    });
}

void backend_runtime::on_agent_unreachable(std::size_t server)
{
    handle(server, [&](health::server_state& s, clock::time_point now) {
        return s.on_agent_unreachable(now);
    });
}

std::optional<backend_runtime::api_outcome> backend_runtime::on_api(
    std::string_view server, const health::api_change& change)
{
    const auto now = clock::now();
    std::unique_lock lock(mutex_);
    const auto it = std::find_if(active_.begin(), active_.end(),
                                 [&](std::size_t i) { return servers_[i]->name == server; });
    if (it == active_.end()) return std::nullopt;
    auto& state = *servers_[*it]->state;
    const auto from = state.status();
    const auto next = health::apply(state.api(), change);
    state.on_api(next, now);
    api_outcome out{*it, from, state.status(), describe(next)};
    auto grants = refresh(*it, now);
    publish();
    deliver(std::move(grants), lock);
    return out;
}

void backend_runtime::tick()
{
    const auto now = clock::now();
    std::unique_lock lock(mutex_);
    const auto records = servers_.size();
    std::vector<std::string> lines;
    std::vector<request_queue::grant> grants;
    for (auto i : active_) {
        if (auto t = servers_[i]->state->tick(now))
            lines.push_back("server " + name_ + "/" + servers_[i]->name + ": " +
                            std::string(to_string(t->from)) + " -> " +
                            std::string(to_string(t->to)) + " (" + t->cause + ")");
        auto g = refresh(i, now);  // a slow-start ramp moves on even without a transition
        grants.insert(grants.end(), g.begin(), g.end());
    }
    publish();
    deliver(std::move(grants), lock);
    for (const auto& line : lines)
        log_event(severity::info, line);
    sample_stats(records, now);
}

// Records below `records` exist and stay: their atomics are read without the backend's lock.
void backend_runtime::sample_stats(std::size_t records, clock::time_point now)
{
    std::vector<backend_stats::server_totals> totals;
    totals.reserve(records);
    for (std::size_t i = 0; i < records; ++i)
        totals.push_back({servers_[i]->answered.load(std::memory_order_relaxed),
                          servers_[i]->failed.load(std::memory_order_relaxed)});
    stats_.sample(now, totals);
}

bool backend_runtime::has_server_up() const
{
    std::lock_guard lock(mutex_);
    for (auto i : active_)
        if (servers_[i]->state->status() == health::server_status::up)
            return true;
    return false;
}

std::string backend_runtime::unavailable_reason() const
{
    std::lock_guard lock(mutex_);
    std::vector<health::named_state> servers;
    for (auto i : active_)
        servers.push_back({servers_[i]->name, &*servers_[i]->state});
    return health::unavailable_reason(servers);
}

health::server_activity backend_runtime::activity(std::size_t server) const
{
    const auto answered = servers_[server]->answered.load(std::memory_order_relaxed);
    std::lock_guard lock(mutex_);
    const auto& slots = queue_.server(server);
    return {slots.in_flight, slots.max_connections, answered};
}

void backend_runtime::refuse_waiting()
{
    std::unique_lock lock(mutex_);
    auto waiters = std::move(waiters_);
    waiters_.clear();
    for (const auto& [ticket, waiter] : waiters)
        queue_.cancel(ticket);
    publish();
    lock.unlock();
    for (auto& [ticket, waiter] : waiters)
        boost::asio::post(waiter->io, [w = waiter] {
            w->refused = true;
            w->wake.cancel();
        });
}

backend_runtime::server_report backend_runtime::report(std::size_t server) const
{
    const auto now = clock::now();
    const auto& record = *servers_[server];
    const backend_stats::server_totals totals{record.answered.load(std::memory_order_relaxed),
                                              record.failed.load(std::memory_order_relaxed)};
    std::unique_lock lock(mutex_);
    const auto& state = *record.state;
    server_report r{queue_.server(server).in_flight, queue_.server(server).max_connections,
                    std::string(to_string(state.status())), state.last_check_summary(),
                    queue_.server(server).weight, to_string(state.set_by()),
                    describe(state.api()), std::nullopt, {}};
    if (const auto at = state.last_check_at())
        r.last_check_age_s = std::chrono::duration<double>(now - *at).count();
    lock.unlock();
    r.last_minute = stats_.server_last_minute(server, now, totals);
    return r;
}

std::vector<std::pair<server_runtime*, bool>> backend_runtime::records_and_retired() const
{
    std::vector<std::pair<server_runtime*, bool>> records;
    std::lock_guard lock(mutex_);
    for (const auto& r : servers_)
        records.emplace_back(r.get(), r->retired);
    return records;
}

// A thread touches only its own pool: no lock needed past the copy of the records.
void backend_runtime::prune_pools(unsigned thread, clock::duration idle_timeout)
{
    // A server that left the config keeps none of its idle connections.
    for (auto [record, retired] : records_and_retired()) {
        if (retired)
            record->pools[thread].clear();
        else
            record->pools[thread].prune(idle_timeout);
    }
}

void backend_runtime::clear_pools(unsigned thread)
{
    for (const auto& entry : records_and_retired())
        entry.first->pools[thread].clear();
}

void backend_runtime::close_pools()
{
    std::lock_guard lock(mutex_);
    for (auto& record : servers_)
        for (auto& pool : record->pools)
            pool.clear();
}

void backend_runtime::deliver(std::vector<request_queue::grant> grants,
                              std::unique_lock<std::mutex>& lock)
{
    if (grants.empty()) {
        lock.unlock();
        return;
    }
    std::vector<std::pair<std::shared_ptr<slot_waiter>, std::size_t>> wake;
    wake.reserve(grants.size());
    for (const auto& g : grants) {
        auto it = waiters_.find(g.waiter);
        wake.emplace_back(std::move(it->second), g.server);
        waiters_.erase(it);
    }
    lock.unlock();
    for (auto& [waiter, server] : wake) {
        boost::asio::post(waiter->io, [waiter, server] {
            waiter->granted = server;
            waiter->wake.cancel();
        });
    }
}

}  // namespace sluice::proxy
