#include "health/jitter.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <set>
#include <vector>

namespace sluice::health {
namespace {

using namespace std::chrono_literals;
constexpr auto max_random = std::numeric_limits<std::uint64_t>::max();

struct bounds_case {
    clock::duration interval;
    unsigned jitter_percent;
    clock::duration low, high;
};

TEST(jitter, delays_stay_within_the_interval_plus_or_minus_the_jitter)
{
    // One case a line, so that the note on one stays beside it.
    // clang-format off
    const std::vector<bounds_case> cases{
        {2s, 10, 1800ms, 2200ms},
        {2s, 0, 2s, 2s},
        {1s, 50, 500ms, 1500ms},
        {1s, 100, 0s, 2s},
        {1s, 250, 0s, 2s},  // over 100 % is taken as 100 %: never a negative delay
        {0s, 10, 0s, 0s},
    };
    // clang-format on
    std::mt19937_64 random{42};
    for (const auto& c : cases) {
        SCOPED_TRACE(testing::Message() << c.interval.count() << "ns ±" << c.jitter_percent);
        for (int i = 0; i < 1000; ++i) {
            const auto d = next_check_delay(c.interval, c.jitter_percent, random());
            EXPECT_GE(d, c.low);
            EXPECT_LE(d, c.high);
        }
        // The random number's extremes reach the exact ends of the range.
        EXPECT_EQ(next_check_delay(c.interval, c.jitter_percent, 0), c.low);
        const auto span = static_cast<std::uint64_t>((c.high - c.low).count());
        EXPECT_EQ(next_check_delay(c.interval, c.jitter_percent, span), c.high);
    }
}

TEST(jitter, delays_spread_evenly_over_the_whole_range)
{
    std::mt19937_64 random{7};
    constexpr int samples = 10000;
    std::vector<int> buckets(10);  // ten slices of 1800..2200 ms
    for (int i = 0; i < samples; ++i) {
        const auto d = next_check_delay(2s, 10, random());
        const auto slice = (d - 1800ms) * 10 / 400ms;
        ++buckets[std::min<std::size_t>(static_cast<std::size_t>(slice), 9)];
    }
    for (int count : buckets) {
        EXPECT_GT(count, samples / 10 * 8 / 10);
        EXPECT_LT(count, samples / 10 * 12 / 10);
    }
}

TEST(jitter, two_servers_checked_together_drift_apart)
{
    std::mt19937_64 random{1};
    auto a = clock::time_point{} + 1h, b = a;
    std::set<clock::duration> gaps;
    for (int round = 0; round < 20; ++round) {
        a += next_check_delay(2s, 10, random());
        b += next_check_delay(2s, 10, random());
        gaps.insert(a > b ? a - b : b - a);
    }
    EXPECT_EQ(gaps.size(), 20u);  // never the same phase twice: no lock-step
    EXPECT_FALSE(gaps.contains(clock::duration::zero()));
}

TEST(jitter, first_checks_are_spread_one_per_slice_of_the_interval)
{
    for (std::size_t servers : {1u, 2u, 3u, 10u, 100u}) {
        for (std::uint64_t seed : {std::uint64_t{0}, std::uint64_t{12345}, max_random}) {
            SCOPED_TRACE(testing::Message() << servers << " servers, seed " << seed);
            const auto offsets = initial_check_offsets(servers, 2s, seed);
            ASSERT_EQ(offsets.size(), servers);
            const auto slice = clock::duration{2s} / static_cast<clock::rep>(servers);
            for (std::size_t i = 0; i < servers; ++i) {
                EXPECT_GE(offsets[i], slice * static_cast<clock::rep>(i));
                EXPECT_LT(offsets[i], slice * static_cast<clock::rep>(i + 1));
            }
        }
    }
}

TEST(jitter, first_checks_differ_from_seed_to_seed_and_handle_edge_cases)
{
    EXPECT_NE(initial_check_offsets(3, 2s, 1), initial_check_offsets(3, 2s, 2));
    EXPECT_EQ(initial_check_offsets(3, 2s, 9), initial_check_offsets(3, 2s, 9));  // pure
    EXPECT_TRUE(initial_check_offsets(0, 2s, 1).empty());
    EXPECT_EQ(initial_check_offsets(2, 0s, 1), (std::vector<clock::duration>{0s, 0s}));
}

}  // namespace
}  // namespace sluice::health
