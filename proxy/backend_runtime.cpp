#include "proxy/backend_runtime.hpp"

#include "proxy/socket_address.hpp"

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
        endpoints.push_back(to_socket_address(s.address));

    std::unique_lock lock(mutex_);
    if (servers_.size() + cfg.servers.size() > max_server_records)
        throw std::runtime_error("backend " + name_ + ": more than " +
                                 std::to_string(max_server_records) +
                                 " server records since start; restart sluice to apply this");
    queue_.set_max_length(cfg.queue_max_length);
    queue_.set_policy(cfg.balance, std::random_device{}());
    std::vector<std::size_t> active;
    std::vector<request_queue::grant> grants;
    for (std::size_t i = 0; i < cfg.servers.size(); ++i) {
        const auto& s = cfg.servers[i];
        std::size_t index = servers_.size();
        for (std::size_t j = 0; j < servers_.size(); ++j)
            if (servers_[j]->name == s.name && servers_[j]->address_text == s.address.text)
                index = j;
        if (index == servers_.size())
            index = add_server(s, endpoints[i]);
        servers_[index]->retired = false;
        active.push_back(index);
        auto g = queue_.set_server(index, s.max_connections, s.weight);
        grants.insert(grants.end(), g.begin(), g.end());
    }
    for (std::size_t j = 0; j < servers_.size(); ++j) {
        if (std::find(active.begin(), active.end(), j) != active.end())
            continue;
        servers_[j]->retired = true;
        queue_.set_server(j, queue_.server(j).max_connections, 0);
    }
    active_ = std::move(active);
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

void backend_runtime::report_result(std::size_t, bool, std::string_view) {}

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

backend_runtime::server_load_view backend_runtime::load(std::size_t server) const
{
    std::lock_guard lock(mutex_);
    return {queue_.server(server).in_flight, queue_.server(server).max_connections};
}

void backend_runtime::prune_pools(unsigned thread, clock::duration idle_timeout)
{
    std::size_t count;
    {
        std::lock_guard lock(mutex_);
        count = servers_.size();
    }
    // Records are never removed and a thread touches only its own pool: no lock needed past here.
    for (std::size_t i = 0; i < count; ++i)
        servers_[i]->pools[thread].prune(idle_timeout);
}

void backend_runtime::deliver(std::vector<request_queue::grant> grants,
                              std::unique_lock<std::mutex>& lock)
{
    if (grants.empty())
        return;
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
