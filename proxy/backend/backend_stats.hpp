#pragma once
// A backend's figures of the last minute for /status and the status page: queue-wait
// percentiles, and per server the requests sent and how many failed. The request path only bumps
// relaxed atomics (here for waits, in server_runtime for answers and failures); the control
// thread samples the totals once a second into minute windows, which /status reads on the admin
// thread. `mutex_` guards the windows and is never taken by request handling.

#include "proxy/backend/minute_window.hpp"

#include <array>
#include <atomic>
#include <mutex>
#include <optional>
#include <vector>

namespace sluice::proxy {

class backend_stats {
public:
    using clock = minute_window::clock;
    struct server_totals {
        std::uint64_t answered = 0, failed = 0;
    };

    explicit backend_stats(clock::time_point start)
        : start_(start), waits_window_(wait_bucket_count, start)
    {
    }

    // A request's time waiting for a slot (0 when granted at once). Any thread, lock-free.
    void record_queue_wait(double ms)
    {
        waits_[wait_bucket(ms)].fetch_add(1, std::memory_order_relaxed);
    }
    // Control thread, about once a second: `servers` by server record index.
    void sample(clock::time_point now, const std::vector<server_totals>& servers);

    struct wait_figures {
        std::uint64_t requests = 0;  // that asked for a slot
        std::optional<double> p50_ms, p99_ms;
    };
    wait_figures queue_wait_last_minute(clock::time_point now) const;
    // Requests sent to the server in the last minute, and those that failed.
    server_totals server_last_minute(std::size_t server, clock::time_point now,
                                     server_totals current) const;

private:
    std::vector<std::uint64_t> wait_totals() const;

    clock::time_point start_;
    std::array<std::atomic<std::uint64_t>, wait_bucket_count> waits_{};
    mutable std::mutex mutex_;
    minute_window waits_window_;
    std::vector<minute_window> servers_;  // grows with the server records
};

}  // namespace sluice::proxy
