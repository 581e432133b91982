#include "proxy/runtime/deadline_wheel.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace sluice::proxy {
namespace {

using namespace std::chrono_literals;
using clock = deadline_wheel::clock;

struct entry : wheel_entry {
    void set(clock::time_point t) { at_ = t; }
    void disarm() { at_ = clock::time_point::max(); }
};

class WheelTest : public ::testing::Test {
protected:
    const clock::time_point start = clock::time_point(1000h);  // a whole number of ticks
    deadline_wheel wheel{20ms, start};

    void arm(entry& e, clock::duration from_start)
    {
        e.set(start + from_start);
        wheel.file(e);
    }

    std::vector<entry*> sweep(clock::duration from_start)
    {
        std::vector<entry*> due;
        wheel.sweep(start + from_start,
                    [&](wheel_entry& e) { due.push_back(&static_cast<entry&>(e)); });
        return due;
    }
};

TEST_F(WheelTest, AnEmptyWheelNeedsNoSweep)
{
    EXPECT_EQ(wheel.next_sweep(), clock::time_point::max());
    entry e;
    wheel.file(e);  // unarmed
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
    a.set(start + 45ms);
    EXPECT_EQ(wheel.file(a), start + 60ms);
    b.disarm();
    EXPECT_EQ(wheel.file(b), clock::time_point::max());
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
    e.disarm();
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
    wheel.file(c);
    int n = 0;
    wheel.for_each([&](wheel_entry&) { ++n; });
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

}  // namespace
}  // namespace sluice::proxy
