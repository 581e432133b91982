#include "proxy/backend/minute_window.hpp"

#include <gtest/gtest.h>

namespace sluice::proxy {
namespace {

using namespace std::chrono_literals;
using totals = std::vector<std::uint64_t>;
const auto t0 = minute_window::clock::time_point{} + 1h;

TEST(minute_window, counts_everything_while_younger_than_a_minute)
{
    minute_window w{2, t0};
    w.sample(t0 + 10s, totals{3, 1});
    EXPECT_EQ(w.last_minute(t0 + 20s, totals{5, 2}), (totals{5, 2}));
}

TEST(minute_window, counts_only_the_last_minute_once_older)
{
    minute_window w{1, t0};
    for (int s = 1; s <= 120; ++s)  // one request a second, sampled each second
        w.sample(t0 + std::chrono::seconds(s), totals{std::uint64_t(s)});
    EXPECT_EQ(w.last_minute(t0 + 120s, totals{120}), (totals{60}));
    EXPECT_EQ(w.last_minute(t0 + 120500ms, totals{120}), (totals{60}));  // between samples
}

TEST(minute_window, quiet_minutes_come_to_zero_and_samples_stay_bounded)
{
    minute_window w{1, t0};
    for (int s = 1; s <= 600; ++s) w.sample(t0 + std::chrono::seconds(s), totals{7});
    EXPECT_EQ(w.last_minute(t0 + 600s, totals{7}), (totals{0}));
}

TEST(minute_window, samples_closer_than_a_second_are_skipped)
{
    minute_window w{1, t0};
    w.sample(t0 + 60s, totals{10});
    w.sample(t0 + 60500ms, totals{11});  // skipped: the base a minute later is still 10
    EXPECT_EQ(w.last_minute(t0 + 120600ms, totals{20}), (totals{10}));
}

TEST(bucket_quantile, reports_the_upper_bound_of_the_bucket_that_holds_the_rank)
{
    std::vector<std::uint64_t> counts(wait_bucket_count, 0);
    EXPECT_EQ(bucket_quantile(counts, 0.5), std::nullopt);
    counts[wait_bucket(0)] = 98;    // granted at once: <= 1 ms
    counts[wait_bucket(30)] = 1;    // <= 50 ms
    counts[wait_bucket(4000)] = 1;  // <= 5000 ms
    EXPECT_EQ(bucket_quantile(counts, 0.5), 1.0);
    EXPECT_EQ(bucket_quantile(counts, 0.99), 50.0);
    EXPECT_EQ(bucket_quantile(counts, 1.0), 5000.0);
}

TEST(bucket_quantile, waits_past_the_last_bound_report_the_last_bound)
{
    std::vector<std::uint64_t> counts(wait_bucket_count, 0);
    counts[wait_bucket(1e9)] = 1;
    EXPECT_EQ(wait_bucket(1e9), wait_bucket_count - 1);
    EXPECT_EQ(bucket_quantile(counts, 0.5), 60000.0);
    EXPECT_EQ(wait_bucket(1), 0u);  // a bound belongs to its own bucket
    EXPECT_EQ(wait_bucket(1.01), 1u);
}

}  // namespace
}  // namespace sluice::proxy
