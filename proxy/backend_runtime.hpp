#pragma once
// A backend while it serves: its servers (address, per-thread connection pools) and the one
// request_queue all threads share.
//
// Locking: `mutex_` guards `queue_` and `waiters_` only, and is held for O(1) work, never
// across I/O. A request that finds no free slot leaves a slot_waiter in `waiters_`; whoever
// frees a slot (any thread) takes the grant out under the lock and posts it to the waiter's own
// event loop, which wakes the waiter by cancelling its timer. A waiter that times out or loses its
// client calls cancel(): if that fails, a grant is already on its way and the waiter must take it
// and release the slot. So a slot is never lost and never granted twice.

#include "config/model.hpp"
#include "proxy/connection_pool.hpp"
#include "proxy/request_queue.hpp"

#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

namespace sluice::proxy {

struct server_runtime {
    config::server config;
    boost::asio::generic::stream_protocol::endpoint endpoint;
    std::deque<connection_pool> pools;  // one per event-loop thread, used by that thread only
};

struct slot_waiter {
    explicit slot_waiter(boost::asio::io_context& io) : io(io), wake(io) {}
    boost::asio::io_context& io;
    boost::asio::steady_timer wake;  // cancelled by the grant
    std::optional<std::size_t> granted;
    request_queue::ticket ticket = 0;
};

class backend_runtime {
public:
    // Resolves every server address (start-up or reload only; may block on DNS).
    backend_runtime(const config::backend& cfg, unsigned threads);

    const config::backend& config() const { return config_; }
    std::size_t server_count() const { return servers_.size(); }
    server_runtime& server(std::size_t i) { return *servers_[i]; }

    struct admission {
        request_queue::outcome result;
        std::size_t server = 0;                // granted
        std::shared_ptr<slot_waiter> waiter;   // queued
    };
    admission admit(boost::asio::io_context& io);
    void release(std::size_t server);
    bool cancel(request_queue::ticket ticket);

    // Published after every change, for the busy/free monitor: no lock to read them.
    std::size_t queue_length() const { return queue_length_.load(std::memory_order_relaxed); }
    std::size_t free_slots() const { return free_slots_.load(std::memory_order_relaxed); }

    struct server_load_view {
        unsigned in_flight, max_connections;
    };
    std::vector<server_load_view> loads() const;  // takes the lock: admin thread only

private:
    void deliver(std::vector<request_queue::grant> grants, std::unique_lock<std::mutex>& lock);
    void publish();  // under the lock

    config::backend config_;
    std::vector<std::unique_ptr<server_runtime>> servers_;
    mutable std::mutex mutex_;
    request_queue queue_;
    std::unordered_map<request_queue::ticket, std::shared_ptr<slot_waiter>> waiters_;
    request_queue::ticket next_ticket_ = 1;
    std::atomic<std::size_t> queue_length_{0};
    std::atomic<std::size_t> free_slots_{0};
};

}  // namespace sluice::proxy
