// The request deadline and its propagation (SPEC.md `timeouts.request`, `deadline_header`): the
// backend is told the milliseconds left when the request is sent, after its queue wait; a client
// can shorten the budget, never lengthen it; the deadline answers 504 itself, and a queue wait it
// ends answers 503.

#include "integration/polling.hpp"
#include "support/http_client.hpp"
#include "support/proxy_config.hpp"
#include "support/scripted_backend.hpp"
#include "support/sluice_process.hpp"

#include <gtest/gtest.h>

namespace sluice::test {
namespace {

const std::string deadline_header = "X-Request-Timeout-Ms";

long budget_seen(const recorded_request& r, const std::string& header = deadline_header)
{
    auto value = r.headers.value(header);
    return value.empty() ? -1 : std::stol(value);
}

// proxy_config writes a route as `match` and `backend` lines: the backend line carries the
// route's timeouts on the next line.
std::string with_timeouts(const std::string& backend, const std::string& timeouts)
{
    return backend + "\n        timeouts: " + timeouts;
}

TEST(deadline, the_header_carries_what_is_left_after_the_queue_wait)
{
    scripted_backend app{{.reply_after = 300ms}};
    sluice_process proxy{
        proxy_config{}
            .backend("app", {app.address()}, {"server_defaults: { max_connections: 1 }"})
            .timeout("request", "5s")};
    auto first = http_get_async(proxy.port(), "/first");
    ASSERT_TRUE(app.wait_for_requests(1));
    auto second = http_get(proxy.port(), "/second");  // queued behind the first for ~300 ms
    EXPECT_EQ(first.get().status, 200);
    EXPECT_EQ(second.status, 200);
    auto seen = app.requests();
    ASSERT_EQ(seen.size(), 2u);
    const auto unqueued = budget_seen(seen[0]), queued = budget_seen(seen[1]);
    EXPECT_GT(unqueued, 4800);
    EXPECT_LE(unqueued, 5000);
    EXPECT_LT(queued, unqueued - 150) << "the queue wait was not taken off the budget";
    EXPECT_GT(queued, 3000);
}

TEST(deadline, a_client_can_shorten_the_budget_never_lengthen_it)
{
    scripted_backend app;
    sluice_process proxy{config_for(app).timeout("request", "5s")};
    ASSERT_EQ(http_get(proxy.port(), "/", {{deadline_header, "1500"}}).status, 200);
    ASSERT_EQ(http_get(proxy.port(), "/", {{deadline_header, "600000"}}).status, 200);
    auto seen = app.requests();
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_LE(budget_seen(seen[0]), 1500);
    EXPECT_GT(budget_seen(seen[0]), 1000);
    EXPECT_LE(budget_seen(seen[1]), 5000);
    EXPECT_EQ(seen[1].headers.count(deadline_header), 1u);
}

TEST(deadline, the_header_name_is_configurable_and_empty_turns_it_off)
{
    scripted_backend app;
    proxy_config cfg;
    cfg.backend("app", {app.address()}, {"deadline_header: X-Budget"})
        .backend("plain", {app.address()}, {"deadline_header: \"\""})
        .route("{ path_prefix: /plain }", "plain")
        .default_backend("app");
    sluice_process proxy{cfg};
    ASSERT_EQ(http_get(proxy.port(), "/").status, 200);
    ASSERT_EQ(http_get(proxy.port(), "/plain", {{deadline_header, "123456"}}).status, 200);
    auto seen = app.requests();
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_GT(budget_seen(seen[0], "X-Budget"), 0);
    EXPECT_EQ(budget_seen(seen[0]), -1);
    EXPECT_EQ(seen[1].headers.value(deadline_header), "123456") << "off: the app's business";
    EXPECT_EQ(budget_seen(seen[1], "X-Budget"), -1);
}

TEST(deadline, a_passed_deadline_answers_504_and_closes_the_backend_connection)
{
    scripted_backend app{{.reply_after = 5s}};
    sluice_process proxy{config_for(app).timeout("request", "300ms").timeout("server", "10s")};
    const auto start = steady::now();
    auto r = http_get(proxy.port(), "/slow");
    EXPECT_EQ(r.status, 504) << r.error;
    EXPECT_GE(since(start), 250ms);
    EXPECT_LT(since(start), 3s);
    auto log = proxy.wait_access_log(1);
    ASSERT_EQ(log.size(), 1u);
    EXPECT_EQ(log[0]["reason"], "request_timeout") << log[0].text();
    EXPECT_EQ(proxy.wait_metric(R"(sluice_timeouts_total{kind="request"})", 1), 1);
    EXPECT_TRUE(eventually([&] { return app.abandoned_requests() == 1; }, 6s));
}

TEST(deadline, the_clients_own_deadline_ends_the_wait_for_the_server)
{
    scripted_backend app{{.reply_after = 5s}};
    sluice_process proxy{config_for(app)};
    const auto start = steady::now();
    auto r = http_get(proxy.port(), "/slow", {{deadline_header, "300"}});
    EXPECT_EQ(r.status, 504) << r.error;
    EXPECT_LT(since(start), 3s);
    auto log = proxy.wait_access_log(1);
    ASSERT_EQ(log.size(), 1u);
    EXPECT_EQ(log[0]["reason"], "request_timeout") << log[0].text();
}

// Nothing reached a server, so the answer is the queue's: 503 with Retry-After, safe to resend.
TEST(deadline, a_queue_wait_ended_by_the_deadline_answers_503)
{
    scripted_backend app{{.reply_after = 900ms}};
    proxy_config cfg;
    cfg.backend("app", {app.address()}, {"server_defaults: { max_connections: 1 }"})
        .route("{ path_prefix: /long }", with_timeouts("app", "{ request: 5s }"))
        .timeout("request", "300ms")
        .timeout("queue", "10s");
    sluice_process proxy{cfg};
    auto holder = http_get_async(proxy.port(), "/long");
    ASSERT_TRUE(app.wait_for_requests(1));
    const auto start = steady::now();
    auto r = http_get(proxy.port(), "/short");
    EXPECT_EQ(r.status, 503) << r.error;
    EXPECT_TRUE(r.headers.contains("Retry-After"));
    EXPECT_LT(since(start), 800ms);
    EXPECT_EQ(holder.get().status, 200) << "the route's own request timeout did not apply";
    auto log = proxy.wait_access_log(2);
    ASSERT_EQ(log.size(), 2u);
    EXPECT_EQ(log[0]["reason"], "queue_timeout") << log[0].text();
}

}  // namespace
}  // namespace sluice::test
