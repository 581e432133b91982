#include "proxy/runtime/deadline_wheel.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace sluice::proxy {
namespace {

using namespace std::chrono_literals;
using clock = deadline_wheel::clock;

struct entry : auto_unlink_hook {
    wheel_time when;
};

class WheelTest : public ::testing::Test {
protected:
    const clock::time_point start = clock::time_point(1000h);  // a whole number of ticks
    deadline_wheel wheel{20ms, start};

    clock::time_point file(entry& e, clock::time_point at)
    {
        const auto [when, swept_at] = wheel.file(e, at);
        e.when = when;
        return swept_at;
    }
    void arm(entry& e, clock::duration from_start) { file(e, start + from_start); }
    void disarm(entry& e) { e.when.armed = false; }

    std::vector<entry*> sweep(clock::duration from_start)
    {
        std::vector<entry*> due;
        wheel.sweep(
            start + from_start, [](auto_unlink_hook& e) { return static_cast<entry&>(e).when; },
            [&](auto_unlink_hook& e) {
                auto& d = static_cast<entry&>(e);
                d.when.armed = false;
                due.push_back(&d);
            });
        return due;
    }
};

TEST_F(WheelTest, AnEmptyWheelNeedsNoSweep)
{
    EXPECT_EQ(wheel.next_sweep(), clock::time_point::max());
    entry e;
    file(e, clock::time_point::max());  // unarmed
    EXPECT_EQ(wheel.next_sweep(), clock::time_point::max());
}

TEST_F(WheelTest, AnEntryIsDueWhenItsTickHasEnded)
{
    entry e;
    arm(e, 45ms);  // in the tick [40, 60) ms
    EXPECT_EQ(wheel.next_sweep(), start + 60ms);
    EXPECT_TRUE(sweep(59ms).empty());
    EXPECT_EQ(sweep(60ms), std::vector<entry*>{&e});
    EXPECT_EQ(wheel.next_sweep(), clock::time_point::max()) << "a due entry leaves the wheel";
    EXPECT_TRUE(sweep(200ms).empty()) << "and is not reported twice";
}

TEST_F(WheelTest, FileReturnsWhenTheEntrysSlotWillBeSwept)
{
    entry a, b;
    EXPECT_EQ(file(a, start + 45ms), start + 60ms);
    EXPECT_EQ(file(b, clock::time_point::max()), clock::time_point::max());
}

TEST_F(WheelTest, AnEntryForATickAlreadySweptGoesToTheNextSweep)
{
    sweep(100ms);  // ticks up to [80, 100) visited
    entry e;
    arm(e, 10ms);  // long past
    EXPECT_EQ(wheel.next_sweep(), start + 120ms);
    EXPECT_EQ(sweep(120ms), std::vector<entry*>{&e});
}

TEST_F(WheelTest, AnEntryArmedEarlierMovesToItsNewSlot)
{
    entry e;
    arm(e, 10s);
    arm(e, 30ms);
    EXPECT_EQ(wheel.next_sweep(), start + 40ms);
    EXPECT_EQ(sweep(40ms), std::vector<entry*>{&e});
    EXPECT_TRUE(sweep(11s).empty()) << "its old slot no longer holds it";
}

TEST_F(WheelTest, ADisarmedEntryIsNeverDueAndLeavesItsSlotAtTheNextPass)
{
    entry e;
    arm(e, 30ms);
    disarm(e);
    EXPECT_EQ(wheel.next_sweep(), start + 40ms) << "disarming is a store: the slot still holds it";
    EXPECT_TRUE(sweep(40ms).empty());
    EXPECT_EQ(wheel.next_sweep(), clock::time_point::max());
}

TEST_F(WheelTest, AnEntryBeyondOneRevolutionWaitsForItsOwnRevolution)
{
    const auto revolution = 20ms * deadline_wheel::slots;
    entry e;
    arm(e, revolution + 45ms);  // the same slot as 45 ms
    EXPECT_EQ(wheel.next_sweep(), start + 60ms) << "its slot is visited a revolution early";
    EXPECT_TRUE(sweep(60ms).empty()) << "but it is not due then";
    EXPECT_EQ(wheel.next_sweep(), start + revolution + 60ms);
    EXPECT_EQ(sweep(revolution + 60ms), std::vector<entry*>{&e});
}

TEST_F(WheelTest, ALongSleepVisitsEverySlotOnceAndFindsEveryDueEntry)
{
    entry a, b, c;
    arm(a, 45ms);
    arm(b, 500ms);
    arm(c, 100s);  // not due at 50 s
    const auto due = sweep(50s);
    EXPECT_EQ(due.size(), 2u);
    EXPECT_NE(std::find(due.begin(), due.end(), &a), due.end());
    EXPECT_NE(std::find(due.begin(), due.end(), &b), due.end());
    EXPECT_EQ(sweep(100s + 20ms), std::vector<entry*>{&c});
}

TEST_F(WheelTest, IdleEntriesFarAwayDoNotDelayASoonerOne)
{
    std::vector<entry> idle(1000);
    for (auto& e : idle) arm(e, 300s);
    entry soon;
    arm(soon, 45ms);
    EXPECT_EQ(wheel.next_sweep(), start + 60ms);
    EXPECT_EQ(sweep(60ms), std::vector<entry*>{&soon});
}

TEST_F(WheelTest, ForEachReachesArmedAndUnarmedEntries)
{
    entry a, b, c;
    arm(a, 45ms);
    arm(b, 300s);
    file(c, clock::time_point::max());
    int n = 0;
    wheel.for_each([&](auto_unlink_hook&) { ++n; });
    EXPECT_EQ(n, 3);
}

TEST_F(WheelTest, AnEntryLeavesTheWheelWhenDestroyed)
{
    {
        entry e;
        arm(e, 45ms);
    }
    EXPECT_EQ(wheel.next_sweep(), clock::time_point::max());
    EXPECT_TRUE(sweep(60ms).empty());
}

TEST(Wheel, TheTickCountWrappingAroundChangesNothing)
{
    // 2^32 ticks of 20 ms after the clock's start, less 2 ticks: the count wraps just after.
    const auto start = clock::time_point(20ms * ((std::int64_t{1} << 32) - 2));
    deadline_wheel wheel{20ms, start};
    entry before, after, next_round;
    before.when = wheel.file(before, start + 10ms).first;
    after.when = wheel.file(after, start + 90ms).first;  // in a tick past the wrap
    // In before's slot, a revolution later: past the wrap, its count is the smaller.
    next_round.when = wheel.file(next_round, start + 10ms + 20ms * deadline_wheel::slots).first;
    EXPECT_LT(after.when.tick, before.when.tick) << "the test does cross the wrap";
    EXPECT_LT(next_round.when.tick, before.when.tick);
    std::vector<entry*> due;
    const auto when = [](auto_unlink_hook& e) { return static_cast<entry&>(e).when; };
    const auto note = [&](auto_unlink_hook& e) { due.push_back(&static_cast<entry&>(e)); };
    wheel.sweep(start + 20ms, when, note);
    EXPECT_EQ(due, std::vector<entry*>{&before});
    due.clear();
    wheel.sweep(start + 99ms, when, note);
    EXPECT_TRUE(due.empty()) << "an entry past the wrap is not taken for an old one";
    wheel.sweep(start + 100ms, when, note);
    EXPECT_EQ(due, std::vector<entry*>{&after});
    due.clear();
    wheel.sweep(start + 20ms + 20ms * deadline_wheel::slots, when, note);
    EXPECT_EQ(due, std::vector<entry*>{&next_round});
}

TEST(Wheel, ADeadlineBeyondTheFarthestIsFiledAtTheFarthest)
{
    const auto start = clock::time_point(1000h);
    deadline_wheel wheel{20ms, start};
    entry e;
    const auto [when, swept_at] = wheel.file(e, clock::time_point::max() - 1h);
    EXPECT_TRUE(when.armed);
    EXPECT_EQ(swept_at, start + 20ms * deadline_wheel::farthest);
}

}  // namespace
}  // namespace sluice::proxy
