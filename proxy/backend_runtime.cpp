#include "proxy/backend_runtime.hpp"

#include "proxy/socket_address.hpp"

#include <boost/asio/post.hpp>

#include <random>

namespace sluice::proxy {

backend_runtime::backend_runtime(const config::backend& cfg, unsigned threads)
    : config_(cfg), queue_(cfg.balance, cfg.queue_max_length, std::random_device{}())
{
    for (const auto& s : cfg.servers) {
        auto server = std::make_unique<server_runtime>();
        server->config = s;
        server->endpoint = to_socket_address(s.address);
        server->pools.resize(threads);
        queue_.add_server(s.max_connections, s.weight);
        servers_.push_back(std::move(server));
    }
    publish();
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

std::vector<backend_runtime::server_load_view> backend_runtime::loads() const
{
    std::lock_guard lock(mutex_);
    std::vector<server_load_view> out;
    for (std::size_t i = 0; i < queue_.server_count(); ++i)
        out.push_back({queue_.server(i).in_flight, queue_.server(i).max_connections});
    return out;
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
