#include "proxy/backend/backend_stats.hpp"

namespace sluice::proxy {

std::vector<std::uint64_t> backend_stats::wait_totals() const
{
    std::vector<std::uint64_t> totals;
    for (const auto& w : waits_) totals.push_back(w.load(std::memory_order_relaxed));
    return totals;
}

void backend_stats::sample(clock::time_point now, const std::vector<server_totals>& servers)
{
    const auto waits = wait_totals();
    std::lock_guard lock(mutex_);
    waits_window_.sample(now, waits);
    // A server added by a reload counts from its first sample: its totals start at 0.
    while (servers_.size() < servers.size()) servers_.emplace_back(2, start_);
    for (std::size_t i = 0; i < servers.size(); ++i)
        servers_[i].sample(now, std::array{servers[i].answered, servers[i].failed});
}

backend_stats::wait_figures backend_stats::queue_wait_last_minute(clock::time_point now) const
{
    const auto totals = wait_totals();
    std::vector<std::uint64_t> counts;
    {
        std::lock_guard lock(mutex_);
        counts = waits_window_.last_minute(now, totals);
    }
    wait_figures f;
    for (auto c : counts) f.requests += c;
    f.p50_ms = bucket_quantile(counts, 0.5);
    f.p99_ms = bucket_quantile(counts, 0.99);
    return f;
}

backend_stats::server_totals backend_stats::server_last_minute(std::size_t server,
                                                               clock::time_point now,
                                                               server_totals current) const
{
    std::lock_guard lock(mutex_);
    if (server >= servers_.size()) return current;  // not sampled yet: all of it is recent
    const auto d = servers_[server].last_minute(now, std::array{current.answered, current.failed});
    return {d[0], d[1]};
}

}  // namespace sluice::proxy
