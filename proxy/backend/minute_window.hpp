#pragma once
// "In the last minute" for the status page, from counters that only grow. The request path
// bumps relaxed atomics and never waits; a timer samples the totals once a second into this
// window, and a reader takes the current totals minus the sample of a minute ago. Pure and not
// thread-safe: the owner guards it with a lock the request path never takes.
//
// Queue waits are counted in fixed buckets (wait_buckets_ms) so a percentile of the last minute
// is the difference of two samples too; it is reported as the bucket's upper bound ("p99 <= 50
// ms"), which over-states by at most one bucket and never invents a precision it does not have.

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <vector>

namespace sluice::proxy {

class minute_window {
public:
    using clock = std::chrono::steady_clock;
    static constexpr auto span = std::chrono::seconds(60);

    // `counters` totals per sample; the window starts with all of them 0 at `start`.
    minute_window(std::size_t counters, clock::time_point start);

    // Keeps `totals` as of `now`; samples closer than a second to the last one are skipped.
    void sample(clock::time_point now, std::span<const std::uint64_t> totals);
    // `totals` (as of `now`) minus the newest sample at least a minute old, or the oldest one
    // while the window is younger than a minute.
    std::vector<std::uint64_t> last_minute(clock::time_point now,
                                           std::span<const std::uint64_t> totals) const;

private:
    struct entry {
        clock::time_point at;
        std::vector<std::uint64_t> totals;
    };
    std::size_t counters_;
    std::deque<entry> samples_;
};

// Upper bounds of the queue-wait buckets in milliseconds; a last bucket holds everything above.
inline constexpr std::array<double, 15> wait_buckets_ms{
    1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 30000, 60000};
inline constexpr std::size_t wait_bucket_count = wait_buckets_ms.size() + 1;
std::size_t wait_bucket(double ms);

// The upper bound of the bucket that holds quantile `q` (0..1) of `counts`; nullopt when empty.
// The last, open bucket reports the largest bound.
std::optional<double> bucket_quantile(std::span<const std::uint64_t> counts, double q);

}  // namespace sluice::proxy
