#pragma once
// Watches the running proxy from the control thread (every few milliseconds while the busy
// signal may change, every tenth of busy_hold or 100 ms while all is quiet):
//  * the busy/free signal: evaluates the raw condition, applies busy_hold hysteresis, publishes
//    the result to one atomic that /healthz reads (and logs and counts each flip);
//  * liveness: posts a heartbeat to every event loop and remembers when each answered (/livez).

#include "admin/admin_server.hpp"
#include "health/busy_signal.hpp"
#include "health/metrics.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <deque>
#include <functional>
#include <vector>

namespace sluice::proxy {

class worker;

class runtime_monitor {
public:
    using clock = std::chrono::steady_clock;

    runtime_monitor(boost::asio::io_context& control, std::vector<worker*> workers,
                    health::metrics& metrics, clock::duration busy_hold,
                    std::function<bool()> raw_busy);

    void start();
    void stop();
    void set_draining();

    const std::atomic<int>& signal() const { return signal_; }
    bool busy() const { return signal_.load(std::memory_order_relaxed) != 0; }
    bool draining() const;
    bool live() const;  // every event loop answered a heartbeat within the last second

private:
    void tick();

    boost::asio::steady_timer timer_;
    std::vector<worker*> workers_;
    health::metrics& metrics_;
    health::busy_signal busy_;
    std::function<bool()> raw_busy_;
    std::atomic<int> signal_{static_cast<int>(admin::proxy_signal::free)};
    std::deque<std::atomic<std::int64_t>> beats_;  // steady-clock ns of each loop's last answer
    clock::time_point last_heartbeat_{};
    bool stopped_ = false;
};

}  // namespace sluice::proxy
