#include "health/busy_timeout.hpp"

#include <gtest/gtest.h>

namespace sluice::health {
namespace {

using namespace std::chrono_literals;
using kind = check_result::kind;

const auto start = clock::time_point{} + 1h;

// Checks every 2 s, each timing out after 1 s; the window is 30 s.
struct fixture {
    busy_timeout busy{30s};
    clock::time_point now = start;

    // One check from start to timeout; `answered` is the server's count at each end.
    check_result timed_out_check(std::uint64_t at_start, server_activity at_end)
    {
        busy.check_started(at_start, now);
        now += 1s;
        auto r = busy.judge(check_result::timeout(), at_end, now);
        now += 1s;
        return r;
    }
};

constexpr unsigned full = 2;

TEST(busy_window, is_the_longest_a_request_may_wait_for_its_answer)
{
    config::health h;  // interval 2s, timeout 1s
    EXPECT_EQ(busy_window(h, 55s, std::nullopt), 55s);
    EXPECT_EQ(busy_window(h, 55s, 30s), 30s) << "worker_timeout kills the worker first";
    EXPECT_EQ(busy_window(h, 20s, 30s), 20s) << "timeouts.server gives up first";
    EXPECT_EQ(busy_window(h, 0s, std::nullopt), 3s) << "no bound: since the check before";
    EXPECT_EQ(busy_window(h, 1s, std::nullopt), 3s) << "never shorter than interval + timeout";
}

TEST(busy_timeout, a_saturated_server_that_keeps_answering_is_busy)
{
    fixture f;
    std::uint64_t answered = 0;
    for (int i = 0; i < 40; ++i) {  // 80 s of checks, one answer every other check
        answered += i % 2;
        auto r = f.timed_out_check(answered, {full, full, answered});
        EXPECT_EQ(r.outcome, kind::saturated) << i << ": " << r.detail;
    }
}

TEST(busy_timeout, a_saturated_server_silent_for_a_whole_window_fails)
{
    fixture f;
    for (int i = 0; i < 15; ++i) {  // checks timing out at 1 s, 3 s, ... 29 s; one answer before
        auto r = f.timed_out_check(1, {full, full, 1});
        EXPECT_EQ(r.outcome, kind::saturated) << i << ": not silent for 30 s yet";
    }
    auto r = f.timed_out_check(1, {full, full, 1});
    EXPECT_EQ(r.outcome, kind::fail) << r.detail;
    EXPECT_EQ(r.detail, "timed out");
    r = f.timed_out_check(1, {full, full, 2});
    EXPECT_EQ(r.outcome, kind::saturated) << "an answer again: busy again";
    EXPECT_EQ(r.detail,
              "timed out with all 2 slots in use, while the server answered 1 request in the "
              "last 31s");  // the baseline: the check that started at 2 s
}

TEST(busy_timeout, a_server_with_a_free_slot_or_no_limit_fails_its_timeouts)
{
    fixture f;
    EXPECT_EQ(f.timed_out_check(0, {1, 2, 5}).outcome, kind::fail);
    EXPECT_EQ(f.timed_out_check(5, {7, 0, 9}).outcome, kind::fail) << "no max_connections";
}

TEST(busy_timeout, until_it_has_watched_a_whole_window_a_saturated_server_is_busy)
{
    fixture f;
    auto r = f.timed_out_check(0, {full, full, 0});
    EXPECT_EQ(r.outcome, kind::saturated);
    EXPECT_EQ(r.detail, "timed out with all 2 slots in use, watched for less than the longest a "
                        "request may take (30s)");
}

TEST(busy_timeout, other_results_pass_through)
{
    fixture f;
    f.busy.check_started(0, f.now);
    const server_activity saturated_and_answering{full, full, 10};
    for (auto r : {check_result::passed("200"), check_result::busy(503),
                   check_result::failed("connect: Connection refused"),
                   check_result::failed("answered 500")}) {
        auto judged = f.busy.judge(r, saturated_and_answering, f.now + 1s);
        EXPECT_EQ(judged.outcome, r.outcome) << r.detail;
        EXPECT_EQ(judged.detail, r.detail);
    }
}

TEST(busy_timeout, the_baseline_is_the_newest_check_a_window_old)
{
    busy_timeout busy{5s};
    for (int i = 0; i <= 10; ++i)
        busy.check_started(i < 7 ? 0 : 3, start + std::chrono::seconds(i));  // 3 answers at 6-7 s
    const auto timeout = check_result::timeout();
    // At 11.5 s the baseline is the check at 6 s: the answers after it count.
    EXPECT_EQ(busy.judge(timeout, {full, full, 3}, start + 11500ms).outcome, kind::saturated);
    // At 12.5 s it is the check at 7 s, which had seen them: nothing since.
    EXPECT_EQ(busy.judge(timeout, {full, full, 3}, start + 12500ms).outcome, kind::fail);
}

}  // namespace
}  // namespace sluice::health
