#pragma once
// A backend's slots and its FIFO of waiting requests, shared by every event loop: the part of the
// backend that HAProxy keeps in queue.c.
//
// Locking: `mutex_` guards the request_queue and `waiters_`, and is held for O(1) work (or
// O(servers) on reload), never across I/O. It also guards the backend's server records (see
// backend_runtime.hpp), because a change of a server's state and the slot table's view of it
// (weight, max_connections) must happen in one step: update() and inspect() run their caller's
// code under it. A request that finds no free slot leaves a slot_waiter in `waiters_`; whoever
// frees a slot (any thread) takes the grant out under the lock and posts it to the waiter's own
// event loop, which wakes the waiter by cancelling its timer. A waiter that times out or loses
// its client calls cancel(): if that fails, a grant is already on its way and the waiter must
// take it and release the slot. So a slot is never lost and never granted twice.

#include "config/model.hpp"
#include "proxy/backend/request_queue.hpp"

#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

namespace sluice::proxy {

struct slot_waiter {
    explicit slot_waiter(boost::asio::io_context& io) : io(io), wake(io) {}
    boost::asio::io_context& io;
    boost::asio::steady_timer wake;  // cancelled by the grant
    std::optional<std::size_t> granted;
    bool refused = false;  // the proxy is shutting down: answer 503 instead of waiting on
    request_queue::ticket ticket = 0;
};

class slot_table {
public:
    explicit slot_table(const config::backend& cfg);

    struct admission {
        request_queue::outcome result;
        std::size_t server = 0;               // granted
        std::shared_ptr<slot_waiter> waiter;  // queued
    };
    admission admit(boost::asio::io_context& io);
    void release(std::size_t server);
    bool cancel(request_queue::ticket ticket);
    // Wakes every waiter with `refused` (shutdown): none stays queued past the drain.
    void refuse_waiting();

    // Runs `change(queue)` under the lock, then hands each grant it returns to its waiter once the
    // lock is released. `change` does O(1) work (O(servers) on reload) and no I/O.
    template <class Change>
    void update(Change&& change)
    {
        std::unique_lock lock(mutex_);
        auto grants = change(queue_);
        publish();
        deliver(std::move(grants), lock);
    }
    // Runs `read(queue)` under the lock and returns what it returns.
    template <class Read>
    auto inspect(Read&& read) const
    {
        std::lock_guard lock(mutex_);
        return read(queue_);
    }

    // Published after every change, for the busy/free monitor: no lock to read them.
    std::size_t queue_length() const { return queue_length_.load(std::memory_order_relaxed); }
    std::size_t free_slots() const { return free_slots_.load(std::memory_order_relaxed); }

private:
    void deliver(std::vector<request_queue::grant> grants, std::unique_lock<std::mutex>& lock);
    void publish();  // under the lock

    mutable std::mutex mutex_;
    request_queue queue_;
    std::unordered_map<request_queue::ticket, std::shared_ptr<slot_waiter>> waiters_;
    request_queue::ticket next_ticket_ = 1;
    std::atomic<std::size_t> queue_length_{0};
    std::atomic<std::size_t> free_slots_{0};
};

}  // namespace sluice::proxy
