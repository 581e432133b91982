#include "health/busy_signal.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace sluice::health {
namespace {

using namespace std::chrono_literals;
using ms = std::chrono::milliseconds;

struct step {
    ms at;                        // since the start of the scenario
    bool raw;                     // the raw condition observed then
    std::optional<bool> flipped;  // what observe must return
};

void run(busy_signal::clock::duration hold, const std::vector<step>& steps)
{
    busy_signal signal{hold};
    const auto start = busy_signal::clock::time_point{} + 1h;
    for (const auto& s : steps) {
        SCOPED_TRACE(testing::Message() << "at " << s.at.count() << "ms raw " << s.raw);
        EXPECT_EQ(signal.observe(s.raw, start + s.at), s.flipped);
    }
}

TEST(busy_signal, starts_free) { EXPECT_FALSE(busy_signal{1s}.busy()); }

TEST(busy_signal, hold_is_respected_going_busy_and_coming_back)
{
    run(1s, {
                {0ms, true, std::nullopt},
                {500ms, true, std::nullopt},
                {999ms, true, std::nullopt},
                {1000ms, true, true},
                {1500ms, true, std::nullopt},
                {2000ms, false, std::nullopt},
                {2999ms, false, std::nullopt},
                {3000ms, false, false},
                {3100ms, false, std::nullopt},
            });
}

TEST(busy_signal, flapping_shorter_than_the_hold_never_flips)
{
    run(1s, {
                {0ms, true, std::nullopt},
                {900ms, false, std::nullopt},  // back to free: the hold starts over
                {1000ms, true, std::nullopt},
                {1900ms, true, std::nullopt},
                {1950ms, false, std::nullopt},
                {2000ms, true, std::nullopt},
                {2999ms, true, std::nullopt},
                {3000ms, true, true},  // held for a whole second at last
                {3500ms, false, std::nullopt},
                {4400ms, true, std::nullopt},
                {5000ms, false, std::nullopt},
                {5999ms, false, std::nullopt},
                {6000ms, false, false},
            });
}

TEST(busy_signal, hold_0_flips_at_once)
{
    run(0s, {
                {0ms, true, true},
                {0ms, true, std::nullopt},
                {1ms, false, false},
                {1ms, true, true},
                {2ms, false, false},
                {3ms, false, std::nullopt},
            });
}

TEST(busy_signal, busy_reports_the_published_state_not_the_raw_one)
{
    busy_signal signal{1s};
    const auto t = busy_signal::clock::time_point{} + 1h;
    signal.observe(true, t);
    EXPECT_FALSE(signal.busy());
    signal.observe(true, t + 1s);
    EXPECT_TRUE(signal.busy());
    signal.observe(false, t + 1500ms);
    EXPECT_TRUE(signal.busy());
}

TEST(busy_signal, raw_busy_when_more_wait_than_slots_are_free_or_connections_are_at_limit)
{
    struct row {
        std::size_t queued, free_slots;
        bool at_limit, busy;
    };
    const row rows[] = {
        {0, 0, false, false},  // nothing waits: free even with no slot
        {0, 5, false, false}, {1, 0, false, true}, {3, 2, false, true},
        {2, 2, false, false},  // as many idle slots as waiters: they are about to be served
        {1, 4, false, false}, {0, 5, true, true},  {0, 0, true, true},
    };
    for (const auto& r : rows) {
        SCOPED_TRACE(testing::Message() << "queued " << r.queued << " free " << r.free_slots
                                        << " at_limit " << r.at_limit);
        EXPECT_EQ(raw_busy(r.queued, r.free_slots, r.at_limit), r.busy);
    }
}

TEST(busy_signal, looks_rarely_while_quiet_and_closely_while_a_change_is_held)
{
    const auto start = busy_signal::clock::time_point{} + 1h;
    busy_signal signal{1s};
    signal.observe(false, start);
    EXPECT_EQ(signal.next_look(), 100ms) << "quiet: a tenth of the hold";
    signal.observe(true, start + 100ms);
    EXPECT_EQ(signal.next_look(), 5ms) << "a change is being held";
    signal.observe(true, start + 1100ms);
    ASSERT_TRUE(signal.busy());
    EXPECT_EQ(signal.next_look(), 5ms) << "busy: its end is watched closely";
    signal.observe(false, start + 1200ms);
    signal.observe(false, start + 2200ms);
    ASSERT_FALSE(signal.busy());
    EXPECT_EQ(signal.next_look(), 100ms);
}

TEST(busy_signal, the_quiet_look_follows_the_hold_within_bounds)
{
    EXPECT_EQ(busy_signal{0s}.next_look(), 5ms) << "a hold of 0 flips at once";
    EXPECT_EQ(busy_signal{300ms}.next_look(), 30ms);
    EXPECT_EQ(busy_signal{30s}.next_look(), 100ms);
}

}  // namespace
}  // namespace sluice::health
