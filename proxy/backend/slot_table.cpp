#include "proxy/backend/slot_table.hpp"

#include <boost/asio/post.hpp>

#include <random>

namespace sluice::proxy {

slot_table::slot_table(const config::backend& cfg)
    : queue_(cfg.balance, cfg.queue_max_length, std::random_device{}())
{
}

void slot_table::publish()
{
    queue_length_.store(queue_.queue_length(), std::memory_order_relaxed);
    free_slots_.store(queue_.free_slots(), std::memory_order_relaxed);
}

slot_table::admission slot_table::admit(boost::asio::io_context& io)
{
    std::unique_lock lock(mutex_);
    const auto ticket = next_ticket_++;
    auto a = queue_.admit(ticket);
    publish();
    if (a.result != request_queue::outcome::queued) return {a.result, a.server, nullptr};
    auto waiter = std::make_shared<slot_waiter>(io);
    waiter->ticket = ticket;
    waiters_.emplace(ticket, waiter);
    return {a.result, 0, std::move(waiter)};
}

void slot_table::release(std::size_t server)
{
    update([&](request_queue& queue) { return queue.release(server); });
}

bool slot_table::cancel(request_queue::ticket ticket)
{
    std::lock_guard lock(mutex_);
    if (!queue_.cancel(ticket)) return false;
    waiters_.erase(ticket);
    publish();
    return true;
}

void slot_table::refuse_waiting()
{
    std::unique_lock lock(mutex_);
    auto waiters = std::move(waiters_);
    waiters_.clear();
    for (const auto& [ticket, waiter] : waiters) queue_.cancel(ticket);
    publish();
    lock.unlock();
    for (auto& [ticket, waiter] : waiters)
        boost::asio::post(waiter->io, [w = waiter] {
            w->refused = true;
            w->wake.cancel();
        });
}

void slot_table::deliver(std::vector<request_queue::grant> grants,
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
