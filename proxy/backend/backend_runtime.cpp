#include "proxy/backend/backend_runtime.hpp"

#include "net/socket_address.hpp"
#include "net/tls_client_context.hpp"

#include <algorithm>
#include <random>
#include <stdexcept>

namespace sluice::proxy {

backend_runtime::backend_runtime(const config::backend& cfg, unsigned threads)
    : name_(cfg.name), threads_(threads), slots_(cfg)
{
    servers_.reserve(max_server_records);
    reconcile(cfg);
}

std::size_t backend_runtime::add_server(request_queue& queue, const config::server& s,
                                        boost::asio::generic::stream_protocol::endpoint e)
{
    auto server = std::make_unique<server_runtime>();
    server->name = s.name;
    server->address_text = s.address.text;
    server->endpoint = e;
    server->pools.resize(threads_);
    servers_.push_back(std::move(server));
    return queue.add_server(0, 0);
}

void backend_runtime::reconcile(const config::backend& cfg)
{
    std::vector<boost::asio::generic::stream_protocol::endpoint> endpoints;
    std::vector<std::shared_ptr<const net::tls_client_context>> tls;
    for (const auto& s : cfg.servers) {
        endpoints.push_back(net::to_socket_address(s.address));
        tls.push_back(s.tls ? std::make_shared<const net::tls_client_context>(cfg, s) : nullptr);
    }

    slots_.update([&](request_queue& queue) {
        if (servers_.size() + cfg.servers.size() > max_server_records)
            throw std::runtime_error("backend " + name_ + ": more than " +
                                     std::to_string(max_server_records) +
                                     " server records since start; restart sluice to apply this");
        queue.set_max_length(cfg.queue_max_length);
        queue.set_policy(cfg.balance, std::random_device{}());
        health_.set_max_ejected_percent(cfg.passive.max_ejected_percent);
        const auto* health = cfg.health ? &*cfg.health : nullptr;
        const auto now = clock::now();
        std::vector<std::size_t> active;
        for (std::size_t i = 0; i < cfg.servers.size(); ++i) {
            const auto& s = cfg.servers[i];
            std::size_t index = servers_.size();
            // Of the config so far: the API's word stays with the name.
            const server_runtime* same_name = nullptr;
            for (std::size_t j = 0; j < servers_.size(); ++j) {
                if (servers_[j]->name == s.name && servers_[j]->address_text == s.address.text)
                    index = j;
                if (servers_[j]->name == s.name && !servers_[j]->retired) same_name = &*servers_[j];
            }
            if (index == servers_.size()) index = add_server(queue, s, endpoints[i]);
            auto& record = *servers_[index];
            record.retired = false;
            const bool tls_involved = tls[i] || record.tls.load();
            record.tls.store(tls[i]);
            if (tls_involved) record.tls_generation.fetch_add(1, std::memory_order_release);
            record.send_proxy.store(s.proxy_protocol, std::memory_order_relaxed);
            if (record.state) {
                record.state->reconfigure(health, cfg.passive, cfg.slow_start, s.weight,
                                          s.max_connections);
            } else {
                record.state.emplace(health, cfg.passive, cfg.slow_start, s.weight,
                                     s.max_connections);
                if (same_name) record.state->on_api(same_name->state->api(), now);
                if (s.discovered && health) record.state->await_first_check(now);
            }
            active.push_back(index);
        }
        for (std::size_t j = 0; j < servers_.size(); ++j)
            servers_[j]->retired = std::find(active.begin(), active.end(), j) == active.end();
        active_ = std::move(active);
        return health_.refresh_all(queue, now);
    });
}

void backend_runtime::set_peers(unsigned peers)
{
    slots_.update([&](request_queue& queue) {
        health_.set_peers(peers);
        return health_.refresh_all(queue, clock::now());
    });
}

std::vector<std::size_t> backend_runtime::active_servers() const
{
    return slots_.inspect([&](const request_queue&) { return active_; });
}

void backend_runtime::tick()
{
    health_.tick();
    const auto records = slots_.inspect([&](const request_queue&) { return servers_.size(); });
    sample_stats(records, clock::now());
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

backend_runtime::server_report backend_runtime::report(std::size_t server) const
{
    const auto now = clock::now();
    const auto& record = *servers_[server];
    const backend_stats::server_totals totals{record.answered.load(std::memory_order_relaxed),
                                              record.failed.load(std::memory_order_relaxed)};
    auto r = slots_.inspect([&](const request_queue& queue) {
        const auto& state = *record.state;
        server_report r{queue.server(server).in_flight,
                        queue.server(server).max_connections,
                        std::string(to_string(state.status())),
                        state.last_check_summary(),
                        queue.server(server).weight,
                        to_string(state.set_by()),
                        describe(state.api()),
                        std::nullopt,
                        {}};
        if (const auto at = state.last_check_at())
            r.last_check_age_s = std::chrono::duration<double>(now - *at).count();
        return r;
    });
    r.last_minute = stats_.server_last_minute(server, now, totals);
    return r;
}

std::vector<std::pair<server_runtime*, bool>> backend_runtime::records_and_retired() const
{
    return slots_.inspect([&](const request_queue&) {
        std::vector<std::pair<server_runtime*, bool>> records;
        for (const auto& r : servers_) records.emplace_back(r.get(), r->retired);
        return records;
    });
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
    for (const auto& entry : records_and_retired()) entry.first->pools[thread].clear();
}

void backend_runtime::close_pools()
{
    slots_.inspect([&](const request_queue&) {
        for (auto& record : servers_)
            for (auto& pool : record->pools) pool.clear();
    });
}

}  // namespace sluice::proxy
