#include "proxy/runtime/runtime_monitor.hpp"

#include "proxy/log/event_log.hpp"
#include "proxy/runtime/worker.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>

namespace sluice::proxy {

namespace {

// Four beats within live_within: one late beat does not make a loop look stuck, and an idle
// worker wakes four times a second for it.
constexpr auto heartbeat_every = std::chrono::milliseconds(250);
constexpr auto live_within = std::chrono::seconds(1);

std::int64_t ticks(runtime_monitor::clock::time_point t)
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

}  // namespace

runtime_monitor::runtime_monitor(boost::asio::io_context& control, std::vector<worker*> workers,
                                 health::metrics& metrics, clock::duration busy_hold,
                                 std::function<bool()> raw_busy)
    : timer_(control), workers_(std::move(workers)), metrics_(metrics), busy_(busy_hold),
      raw_busy_(std::move(raw_busy)), beats_(workers_.size())
{
    for (auto& b : beats_) b.store(ticks(clock::now()));
}

void runtime_monitor::start() { tick(); }

void runtime_monitor::stop()
{
    stopped_ = true;
    timer_.cancel();
}

void runtime_monitor::set_draining()
{
    signal_.store(static_cast<int>(admin::proxy_signal::draining));
}

bool runtime_monitor::draining() const
{
    return signal_.load() == static_cast<int>(admin::proxy_signal::draining);
}

bool runtime_monitor::live() const
{
    const auto oldest_allowed = ticks(clock::now() - live_within);
    for (const auto& b : beats_)
        if (b.load(std::memory_order_relaxed) < oldest_allowed) return false;
    return true;
}

void runtime_monitor::tick()
{
    if (stopped_) return;
    const auto now = clock::now();
    if (auto flipped = busy_.observe(raw_busy_(), now); flipped && !draining()) {
        signal_.store(
            static_cast<int>(*flipped ? admin::proxy_signal::busy : admin::proxy_signal::free));
        metrics_.busy_transition(*flipped);
        log_event(severity::info, *flipped ? "busy: requests are waiting and no slot is free"
                                           : "free: slots are available again");
    }
    if (now - last_heartbeat_ >= heartbeat_every) {
        last_heartbeat_ = now;
        for (std::size_t i = 0; i < workers_.size(); ++i)
            boost::asio::post(workers_[i]->io, [&beat = beats_[i]] {
                beat.store(ticks(clock::now()), std::memory_order_relaxed);
            });
    }
    timer_.expires_after(std::min<clock::duration>(busy_.next_look(), heartbeat_every));
    timer_.async_wait([this](boost::system::error_code ec) {
        if (!ec) tick();
    });
}

}  // namespace sluice::proxy
