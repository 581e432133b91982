#include "proxy/backend/minute_window.hpp"

#include <algorithm>
#include <cmath>

namespace sluice::proxy {

minute_window::minute_window(std::size_t counters, clock::time_point start) : counters_(counters)
{
    samples_.push_back({start, std::vector<std::uint64_t>(counters, 0)});
}

void minute_window::sample(clock::time_point now, std::span<const std::uint64_t> totals)
{
    if (now - samples_.back().at < std::chrono::seconds(1)) return;
    samples_.push_back({now, {totals.begin(), totals.end()}});
    samples_.back().totals.resize(counters_, 0);
    // The newest sample a minute old must stay: drop only those older than it.
    while (samples_.size() > 1 && now - samples_[1].at >= span) samples_.pop_front();
}

std::vector<std::uint64_t> minute_window::last_minute(clock::time_point now,
                                                      std::span<const std::uint64_t> totals) const
{
    const entry* base = &samples_.front();
    for (const auto& e : samples_)
        if (now - e.at >= span) base = &e;
    std::vector<std::uint64_t> out(counters_, 0);
    for (std::size_t i = 0; i < counters_ && i < totals.size(); ++i)
        out[i] = totals[i] >= base->totals[i] ? totals[i] - base->totals[i] : 0;
    return out;
}

std::size_t wait_bucket(double ms)
{
    const auto it = std::lower_bound(wait_buckets_ms.begin(), wait_buckets_ms.end(), ms);
    return static_cast<std::size_t>(it - wait_buckets_ms.begin());
}

std::optional<double> bucket_quantile(std::span<const std::uint64_t> counts, double q)
{
    std::uint64_t total = 0;
    for (auto c : counts) total += c;
    if (total == 0) return std::nullopt;
    // The rank of the quantile, 1-based: p50 of 2 values is the first, p99 of 100 the 99th.
    const auto rank = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::ceil(q * total)));
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < counts.size(); ++i) {
        seen += counts[i];
        if (seen >= rank) return wait_buckets_ms[std::min(i, wait_buckets_ms.size() - 1)];
    }
    return wait_buckets_ms.back();
}

}  // namespace sluice::proxy
