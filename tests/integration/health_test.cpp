// Active health checks as a client and an operator see them (SPEC.md "Server
// states", "Health checks"): fall and rise, busy_status, TCP checks, checks that take no request
// slot, every server down, slow start; with /status, /readyz, the log lines and the metrics that
// show each. Passive checks are in passive_test.cpp.

#include "integration/health_fixtures.hpp"

#include <gtest/gtest.h>

#include <set>

namespace sluice::test {
namespace {

using counts = std::map<std::string, int>;

TEST(health, fall_takes_a_failing_server_down_and_rise_brings_it_back)
{
    app_server app1{"app1"}, app2{"app2"};
    sluice_process proxy{
        proxy_config{}.backend("app", {app1.address(), app2.address()},
                               {"balance: roundrobin", fast_checks("rise: 2, fall: 3")})};
    ASSERT_TRUE(eventually_slow([&] { return proxy.metric(checks_metric("app1", "pass")) >= 1; }));

    app1.set_health(500);
    ASSERT_TRUE(wait_state(proxy, "app1", "down")) << proxy.stderr_text();
    EXPECT_TRUE(proxy.wait_stderr(
        "server app/app1: up -> down (3 checks in a row, last failed: answered 500)"))
        << proxy.stderr_text();
    EXPECT_EQ(proxy.wait_metric(state_metric("app1", "down"), 1), 1);
    EXPECT_EQ(proxy.wait_metric(state_metric("app1", "up"), 0), 0);
    EXPECT_EQ(proxy.wait_metric(state_metric("app2", "up"), 1), 1);
    EXPECT_GE(proxy.metric(checks_metric("app1", "fail")).value_or(0), 3);
    const auto timed = R"(sluice_health_check_duration_seconds_count{backend="app"})";
    EXPECT_GE(proxy.metric(timed).value_or(0), 4);
    const auto app1_before = app1.app_requests();
    EXPECT_EQ(spread(proxy.port(), 8), (counts{{"app2", 8}}));
    EXPECT_EQ(app1.app_requests(), app1_before);

    const auto checks_while_down = app1.health_requests().size();
    app1.set_health(200);
    ASSERT_TRUE(wait_state(proxy, "app1", "up")) << proxy.stderr_text();
    EXPECT_GE(app1.health_requests().size(), checks_while_down + 2);  // rise: 2
    EXPECT_TRUE(
        proxy.wait_stderr("server app/app1: down -> up (2 checks in a row, last passed: 200)"))
        << proxy.stderr_text();
    EXPECT_EQ(proxy.wait_metric(state_metric("app1", "up"), 1), 1);
    EXPECT_EQ(proxy.wait_metric(state_metric("app1", "down"), 0), 0);
    auto after = spread(proxy.port(), 8);
    EXPECT_GE(after["app1"], 2);
    EXPECT_GE(after["app2"], 2);
}

TEST(health, busy_status_sends_new_requests_elsewhere_and_lets_in_flight_ones_finish)
{
    app_server app1{"app1"}, app2{"app2"};
    sluice_process proxy{proxy_config{}.backend("app", {app1.address(), app2.address()},
                                                {"balance: leastconn", fast_checks()})};
    auto held_a = http_get_async(proxy.port(), "/hold");  // one on each server
    auto held_b = http_get_async(proxy.port(), "/hold");
    ASSERT_TRUE(eventually([&] { return app1.app_in_flight() == 1 && app2.app_in_flight() == 1; }));

    app1.set_health(503);
    ASSERT_TRUE(wait_state(proxy, "app1", "busy")) << proxy.stderr_text();
    EXPECT_TRUE(proxy.wait_stderr("server app/app1: up -> busy (check answered 503 (busy_status))"))
        << proxy.stderr_text();
    EXPECT_EQ(proxy.wait_metric(state_metric("app1", "busy"), 1), 1);
    EXPECT_EQ(proxy.wait_metric(state_metric("app1", "up"), 0), 0);
    EXPECT_GE(proxy.metric(checks_metric("app1", "busy")).value_or(0), 1);
    EXPECT_EQ(http_get(proxy.admin_port(), "/readyz").status, 200);  // app2 is up
    EXPECT_EQ(spread(proxy.port(), 6), (counts{{"app2", 6}}));

    app1.release();
    app2.release();
    auto a = held_a.get(), b = held_b.get();
    EXPECT_EQ(a.status, 200);
    EXPECT_EQ(b.status, 200);
    EXPECT_EQ((std::set{a.headers.value("X-Served-By"), b.headers.value("X-Served-By")}),
              (std::set<std::string>{"app1", "app2"}));
    EXPECT_EQ(state_of(proxy, "app1"), "busy");

    app1.set_health(200);
    ASSERT_TRUE(wait_state(proxy, "app1", "up")) << proxy.stderr_text();
    EXPECT_GE(spread(proxy.port(), 6)["app1"], 1);
}

TEST(health, tcp_check_takes_a_server_that_refuses_connections_down)
{
    app_server app{"app1"};
    const auto dead = "127.0.0.1:" + std::to_string(closed_port());
    sluice_process proxy{proxy_config{}.backend("app", {app.address(), dead},
                                                {fast_checks("rise: 2, fall: 2", "")})};

    ASSERT_TRUE(wait_state(proxy, "app2", "down")) << proxy.stderr_text();
    EXPECT_TRUE(proxy.wait_stderr("server app/app2: up -> down (2 checks in a row, last failed: "
                                  "connect: Connection refused)"))
        << proxy.stderr_text();
    EXPECT_NE(server_status(proxy, "app2").value_or(json_line{})["last_check"].find("refused"),
              std::string::npos);
    EXPECT_EQ(state_of(proxy, "app1"), "up");
    EXPECT_TRUE(app.health_requests().empty());  // a connect, no request
    EXPECT_EQ(spread(proxy.port(), 6), (counts{{"app1", 6}}));
}

TEST(health, checks_carry_the_configured_request_and_take_no_request_slot)
{
    app_server app{"app1", "/ping"};
    sluice_process proxy{proxy_config{}.backend(
        "app", {app.address()},
        {"server_defaults: { max_connections: 1 }",
         fast_checks("rise: 2, fall: 2",
                     "http: { method: HEAD, path: /ping, host: health.local }")})};
    auto held = http_get_async(proxy.port(), "/hold");  // takes the only slot
    ASSERT_TRUE(eventually([&] { return app.app_in_flight() == 1; }));
    auto queued = http_get_async(proxy.port(), "/");
    ASSERT_EQ(proxy.wait_metric(R"(sluice_queue_length{backend="app"})", 1), 1);

    const auto seen = app.health_requests().size();
    ASSERT_TRUE(eventually([&] { return app.health_requests().size() >= seen + 3; }));
    EXPECT_EQ(state_of(proxy, "app1"), "up");
    EXPECT_EQ(proxy.wait_metric(R"(sluice_server_in_flight{backend="app",server="app1"})", 1), 1);
    EXPECT_EQ(app.app_requests(), 1u);
    for (const auto& check : app.health_requests()) {
        EXPECT_EQ(check.method, "HEAD");
        EXPECT_EQ(check.headers.value("Host"), "health.local");
        EXPECT_TRUE(iequals(check.headers.value("Connection"), "close"));
        EXPECT_EQ(check.body_size, 0u);
        EXPECT_FALSE(check.headers.contains("Via"));  // not sent through the request path
    }

    app.release();
    EXPECT_EQ(held.get().status, 200);
    EXPECT_EQ(queued.get().status, 200);
}

TEST(health, with_every_server_down_requests_wait_for_the_queue_timeout_then_get_503)
{
    app_server app{"app1"};
    app.set_health(500);
    sluice_process proxy{
        proxy_config{}.backend("app", {app.address()}, {fast_checks()}).timeout("queue", "500ms")};
    ASSERT_TRUE(wait_state(proxy, "app1", "down")) << proxy.stderr_text();
    auto ready = http_get(proxy.admin_port(), "/readyz");
    EXPECT_EQ(ready.status, 503);
    EXPECT_NE(ready.body.find("app"), std::string::npos) << ready.body;

    const auto start = steady::now();
    auto r = http_get(proxy.port(), "/");
    const auto waited = since(start);
    EXPECT_EQ(r.status, 503);
    EXPECT_TRUE(r.headers.contains("Retry-After"));
    EXPECT_GE(waited, 450ms);
    EXPECT_LT(waited, 3s);
    auto log = proxy.wait_access_log(1);
    ASSERT_EQ(log.size(), 1u);
    EXPECT_EQ(log[0]["reason"], "queue_timeout") << log[0].text();
    EXPECT_EQ(app.app_requests(), 0u);
    EXPECT_EQ(
        proxy.wait_metric(R"(sluice_queue_rejected_total{backend="app",reason="timeout"})", 1), 1);

    app.set_health(200);
    ASSERT_TRUE(wait_state(proxy, "app1", "up")) << proxy.stderr_text();
    EXPECT_EQ(http_get(proxy.admin_port(), "/readyz").status, 200);
    EXPECT_EQ(http_get(proxy.port(), "/").status, 200);
}

TEST(health, slow_start_ramps_a_returning_server_up_to_its_weight)
{
    app_server app{"app1"};
    sluice_process proxy{proxy_config{}.backend("app", {app.address()},
                                                {"server_defaults: { weight: 4 }", "slow_start: 1s",
                                                 fast_checks("rise: 1, fall: 1")})};
    auto weight = [&] {
        return server_status(proxy, "app1").value_or(json_line{}).number("effective_weight");
    };
    EXPECT_EQ(weight(), 4.0);  // servers start up, without a ramp

    app.set_health(500);
    ASSERT_TRUE(wait_state(proxy, "app1", "down")) << proxy.stderr_text();
    EXPECT_EQ(weight(), 0.0);
    app.set_health(200);
    std::optional<json_line> back;
    ASSERT_TRUE(eventually([&] {
        back = server_status(proxy, "app1");
        return back && (*back)["state"] == "up";
    }));
    const auto up_at = steady::now();
    EXPECT_GT(back->number("effective_weight"), 0.0);
    EXPECT_LT(back->number("effective_weight"), 4.0);
    ASSERT_TRUE(eventually_slow([&] { return weight() == 4.0; }, 5s));
    EXPECT_GE(since(up_at), 500ms);
}

}  // namespace
}  // namespace sluice::test
