#include "proxy/backend/retry_policy.hpp"

#include <gtest/gtest.h>

namespace sluice::proxy {
namespace {

using kind = attempt_failure::kind;
using decision = retry_decision::kind;

using namespace std::chrono_literals;

attempt_failure failure(kind what, bool reused, bool body_sent, bool idempotent,
                        std::chrono::steady_clock::duration waited = 1ms)
{
    return {what, reused, body_sent, idempotent, waited};
}

struct single_case {
    const char* name;
    attempt_failure failure;
    decision expected;
    std::string_view reason;
};

TEST(retry_policy, first_failure_of_each_kind)
{
    const single_case cases[] = {
        {"connect failure of a GET", failure(kind::connect_failure, false, false, true),
         decision::counted, "connect_failure"},
        {"connect failure of a POST: nothing reached the app",
         failure(kind::connect_failure, false, false, false), decision::counted, "connect_failure"},
        {"stale pooled connection, GET", failure(kind::empty_response, true, false, true),
         decision::free_stale, "stale_connection"},
        {"stale pooled connection, POST without a body sent",
         failure(kind::empty_response, true, false, false), decision::free_stale,
         "stale_connection"},
        {"POST whose body was sent", failure(kind::empty_response, true, true, false),
         decision::none, ""},
        {"PUT whose body was sent: it cannot be replayed",
         failure(kind::empty_response, false, true, true), decision::none, ""},
        {"empty answer on a new connection, GET: the app may have run it (harakiri)",
         failure(kind::empty_response, false, false, true), decision::none, ""},
        {"empty answer on a new connection, POST: the app may have acted",
         failure(kind::empty_response, false, false, false), decision::none, ""},
        {"pooled connection closed long after the request was written: the app's doing",
         failure(kind::empty_response, true, false, true, 3s), decision::none, ""},
        {"pooled connection closed just past the race window",
         failure(kind::empty_response, true, false, true, keepalive_race_window), decision::none,
         ""},
        {"pooled connection failed while the request was written",
         failure(kind::empty_response, true, false, false, 0ms), decision::free_stale,
         "stale_connection"},
    };
    for (const auto& c : cases) {
        retry_budget budget;
        auto d = decide_retry(c.failure, config::retries{}, budget);
        EXPECT_EQ(d.what, c.expected) << c.name;
        EXPECT_EQ(d.reason, c.reason) << c.name;
        EXPECT_EQ(d.prefer_other_server, c.expected == decision::counted) << c.name;
    }
}

TEST(retry_policy, the_free_stale_retry_happens_once_then_counts)
{
    retry_budget budget;
    const auto stale = failure(kind::empty_response, true, false, true);
    EXPECT_EQ(decide_retry(stale, config::retries{}, budget).what, decision::free_stale);
    EXPECT_EQ(budget.counted, 0u);
    EXPECT_EQ(decide_retry(stale, config::retries{}, budget).what, decision::counted);
    EXPECT_EQ(decide_retry(stale, config::retries{}, budget).what, decision::none);
}

TEST(retry_policy, attempts_bound_the_counted_retries)
{
    config::retries policy;
    policy.attempts = 3;
    retry_budget budget;
    const auto refused = failure(kind::connect_failure, false, false, false);
    for (int i = 0; i < 3; ++i)
        EXPECT_EQ(decide_retry(refused, policy, budget).what, decision::counted) << i;
    EXPECT_EQ(decide_retry(refused, policy, budget).what, decision::none);
    policy.attempts = 0;
    retry_budget none_allowed;
    EXPECT_EQ(decide_retry(refused, policy, none_allowed).what, decision::none);
}

TEST(retry_policy, retries_on_lists_the_kinds_that_are_retried)
{
    config::retries connect_only;
    connect_only.on_empty_response = false;
    config::retries empty_only;
    empty_only.on_connect_failure = false;
    const auto refused = failure(kind::connect_failure, false, false, true);
    const auto stale = failure(kind::empty_response, true, false, true);
    retry_budget b1, b2, b3, b4, b5;
    EXPECT_EQ(decide_retry(refused, connect_only, b1).what, decision::counted);
    b2.free_used = b4.free_used = true;  // a second stale connection in a row
    EXPECT_EQ(decide_retry(stale, connect_only, b2).what, decision::none);
    EXPECT_EQ(decide_retry(refused, empty_only, b3).what, decision::none);
    EXPECT_EQ(decide_retry(stale, empty_only, b4).what, decision::counted);
    // The free retry is not a policy choice: it repairs the proxy's own keep-alive race.
    EXPECT_EQ(decide_retry(stale, connect_only, b5).what, decision::free_stale);
}

TEST(retry_policy, a_not_processed_503_goes_once_to_each_other_server)
{
    retry_budget budget;
    EXPECT_TRUE(retry_not_processed(false, 3, budget));
    EXPECT_TRUE(retry_not_processed(false, 3, budget));
    EXPECT_FALSE(retry_not_processed(false, 3, budget));  // every other server has said no
    EXPECT_EQ(budget.counted, 0u);
    retry_budget alone, streamed;
    EXPECT_FALSE(retry_not_processed(false, 1, alone));
    EXPECT_FALSE(retry_not_processed(true, 3, streamed));  // the body is gone
}

TEST(retry_policy, idempotent_methods_follow_rfc_9110)
{
    for (std::string_view m : {"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
        EXPECT_TRUE(is_idempotent(m)) << m;
    for (std::string_view m : {"POST", "PATCH", "CONNECT", "get", "PROPFIND"})
        EXPECT_FALSE(is_idempotent(m)) << m;
}

TEST(retry_policy, a_close_at_about_the_worker_timeout_is_a_killed_worker)
{
    EXPECT_TRUE(worker_killed(30s, 30s));
    EXPECT_TRUE(worker_killed(27s, 30s));
    EXPECT_TRUE(worker_killed(31500ms, 30s));  // gunicorn's arbiter looks once a second
    EXPECT_TRUE(worker_killed(3200ms, 3s));
    EXPECT_FALSE(worker_killed(10ms, 30s));  // at once: a crash or the wrong protocol
    EXPECT_FALSE(worker_killed(20s, 30s));
    EXPECT_FALSE(worker_killed(50s, 30s));
    EXPECT_FALSE(worker_killed(0s, 0s));
}

}  // namespace
}  // namespace sluice::proxy
