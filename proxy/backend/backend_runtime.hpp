#pragma once
// A backend's live state, which outlives config reloads: its servers' slots and FIFO queue, their
// connection pools, and (with health checks) their states. A reload reconciles it with the new
// config: a server that keeps its name and address keeps its record (slots, in-flight count,
// pools, health); a new one is added; one that left is retired: it takes no new requests, keeps
// its in-flight ones, and its record stays so that their slots come back to the right place.
//
// Locking: `mutex_` guards `queue_`, `waiters_` and the server list, and is held for O(1) work
// (or O(servers) on reload), never across I/O. A request that finds no free slot leaves a
// slot_waiter in `waiters_`; whoever frees a slot (any thread) takes the grant out under the lock
// and posts it to the waiter's own event loop, which wakes the waiter by cancelling its timer.
// A waiter that times out or loses its client calls cancel(): if that fails, a grant is already on
// its way and the waiter must take it and release the slot. So a slot is never lost and never
// granted twice. Server records are never removed, so a server index stays valid for as long as
// the backend_runtime lives.

#include "config/model.hpp"
#include "health/agent_reply.hpp"
#include "health/api_override.hpp"
#include "health/busy_timeout.hpp"
#include "health/server_state.hpp"
#include "proxy/backend/backend_stats.hpp"
#include "proxy/backend/connection_pool.hpp"
#include "proxy/backend/request_queue.hpp"

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
    std::string name;
    std::string address_text;
    boost::asio::generic::stream_protocol::endpoint endpoint;
    std::deque<connection_pool> pools;  // one per event-loop thread, used by that thread only
    // Guarded by the backend's mutex:
    bool retired = false;
    std::optional<health::server_state> state;
    // A lock-free hint for the request path: nonzero while a passive failure streak runs, so a
    // success takes the lock only when it has a streak to reset.
    std::atomic<unsigned> failure_streak{0};
    // Requests the server answered (a response head that is not 502/503/504): the checker's
    // evidence that a saturated server still works (health/busy_timeout.hpp). Relaxed: a count
    // read once per check, ordered with nothing else.
    std::atomic<std::uint64_t> answered{0};
    // Requests that failed on it (what report_result counts as failed), for the status page.
    std::atomic<std::uint64_t> failed{0};
};

struct slot_waiter {
    explicit slot_waiter(boost::asio::io_context& io) : io(io), wake(io) {}
    boost::asio::io_context& io;
    boost::asio::steady_timer wake;  // cancelled by the grant
    std::optional<std::size_t> granted;
    bool refused = false;  // the proxy is shutting down: answer 503 instead of waiting on
    request_queue::ticket ticket = 0;
};

class backend_runtime {
public:
    backend_runtime(const config::backend& cfg, unsigned threads);

    // Applies a reloaded config of the same backend. Resolves new addresses first (may block on
    // DNS; throws std::runtime_error), then swaps under the lock.
    void reconcile(const config::backend& cfg);

    const std::string& name() const { return name_; }
    server_runtime& server(std::size_t i) { return *servers_[i]; }
    // Indices of the servers of the current config, in config order.
    std::vector<std::size_t> active_servers() const;

    struct admission {
        request_queue::outcome result;
        std::size_t server = 0;                // granted
        std::shared_ptr<slot_waiter> waiter;   // queued
    };
    admission admit(boost::asio::io_context& io);
    void release(std::size_t server);
    bool cancel(request_queue::ticket ticket);
    // Passive health: how a request sent to `server` ended. `failed`: connect failure, reset,
    // timeout, or 502/503/504 from the server. `what` names it for the ejection's log line.
    void report_result(std::size_t server, bool failed, std::string_view what);
    // Active health: results of the checker, for a server index of active_servers().
    void on_check(std::size_t server, const health::check_result& r);
    void on_agent(std::size_t server, const health::agent_reply& r);
    void on_agent_unreachable(std::size_t server);
    // The admin API's change to the server of the current config named `server`; nullopt when
    // there is none. Like a check result: O(1) under the lock. The caller logs the change.
    struct api_outcome {
        std::size_t index;  // the server's record
        health::server_status from, to;
        std::string override_text;  // the override now in force ("" = none)
    };
    std::optional<api_outcome> on_api(std::string_view server, const health::api_change& change);
    // Ends ejections whose time is up and moves slow-start ramps along.
    void tick();
    bool has_server_up() const;
    // Why no server of the current config is up, for the 503 of a request that waited for one:
    // "every server is down: app1 (3 checks in a row, last failed: ...)"; "" when one is up.
    // Takes the lock (O(servers)): for the moment a request gives up, not for every request.
    std::string unavailable_reason() const;
    // A server's slots in use, its limit and its answer count, for the checker's busy-or-dead
    // verdict. Takes the lock for O(1), from any thread; like on_check, once per check.
    health::server_activity activity(std::size_t server) const;
    // Wakes every waiter with `refused` (shutdown): none stays queued past the drain.
    void refuse_waiting();

    // Published after every change, for the busy/free monitor: no lock to read them.
    std::size_t queue_length() const { return queue_length_.load(std::memory_order_relaxed); }
    std::size_t free_slots() const { return free_slots_.load(std::memory_order_relaxed); }

    struct server_report {
        unsigned in_flight, max_connections;
        std::string state, last_check;
        double weight;
        std::string_view set_by;        // "api", "agent" or "check"
        std::string api_override;       // "" = none
        std::optional<double> last_check_age_s;
        backend_stats::server_totals last_minute;  // requests sent and failed
    };
    server_report report(std::size_t server) const;  // takes the lock: admin thread only
    backend_stats& stats() { return stats_; }
    const backend_stats& stats() const { return stats_; }
    // Closes pooled connections of this thread that idled past their time.
    void prune_pools(unsigned thread, clock::duration idle_timeout);
    // A reload dropped this backend: each thread closes its own pooled connections to it
    // (clear_pools), and no connection goes back into a pool after that (retired).
    void retire() { retired_.store(true); }
    bool retired() const { return retired_.load(std::memory_order_relaxed); }
    void clear_pools(unsigned thread);
    // At exit, once the event loops have stopped: every pooled connection, of every thread.
    void close_pools();

private:
    std::size_t add_server(const config::server& s, boost::asio::generic::stream_protocol::endpoint e);
    void sample_stats(std::size_t records, clock::time_point now);
    void deliver(std::vector<request_queue::grant> grants, std::unique_lock<std::mutex>& lock);
    void publish();  // under the lock
    // Puts a server's state into the slot table (weight, max); returns the grants it allows.
    std::vector<request_queue::grant> refresh(std::size_t server, clock::time_point now);
    template <class Event>
    void handle(std::size_t server, Event&& event);
    bool ejection_allowed() const;  // under the lock: passive.max_ejected across the backend
    // Every server record with its `retired` flag, copied under the lock for a pool walk.
    std::vector<std::pair<server_runtime*, bool>> records_and_retired() const;

    // Reserved up front and never reallocated, so event loops index it without the lock while a
    // reload appends. Records of departed servers count too; past this, restart.
    static constexpr std::size_t max_server_records = 4096;
    std::string name_;
    unsigned threads_;
    std::vector<std::unique_ptr<server_runtime>> servers_;  // grows only (see above)
    std::vector<std::size_t> active_;
    unsigned max_ejected_percent_ = 50;
    mutable std::mutex mutex_;
    request_queue queue_;
    std::unordered_map<request_queue::ticket, std::shared_ptr<slot_waiter>> waiters_;
    request_queue::ticket next_ticket_ = 1;
    std::atomic<std::size_t> queue_length_{0};
    std::atomic<std::size_t> free_slots_{0};
    std::atomic<bool> retired_{false};
    backend_stats stats_{clock::now()};
};

}  // namespace sluice::proxy
