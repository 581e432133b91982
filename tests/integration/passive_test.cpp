// Passive health checks (SPEC.md "Server states"): consecutive failed requests eject a server
// for `passive.ejection`; it gets nothing meanwhile and comes back by itself.

#include "integration/health_fixtures.hpp"

#include <gtest/gtest.h>

#include <set>

namespace sluice::test {
namespace {

using counts = std::map<std::string, int>;

TEST(passive, consecutive_failures_eject_a_failing_server_for_a_while)
{
    app_server app1{"app1"}, app2{"app2"};
    app1.set_app_status(502);
    sluice_process proxy{proxy_config{}.backend(
        "app", {app1.address(), app2.address()},
        {"balance: roundrobin",
         "passive: { consecutive_failures: 3, ejection: 1s, max_ejected: 50% }"})};

    EXPECT_EQ(spread(proxy.port(), 6), (counts{{"app2", 3}, {"status 502", 3}}));
    EXPECT_EQ(state_of(proxy, "app1"), "down");
    const auto ejected_at = steady::now();
    EXPECT_TRUE(
        proxy.wait_stderr("server app/app1: up -> down (ejected for 1s: 3 consecutive failures"))
        << proxy.stderr_text();
    EXPECT_EQ(spread(proxy.port(), 6), (counts{{"app2", 6}}));
    EXPECT_EQ(app1.app_requests(), 3u);

    app1.set_app_status(200);
    ASSERT_TRUE(wait_state(proxy, "app1", "up", 5s)) << proxy.stderr_text();
    EXPECT_GE(since(ejected_at), 700ms);
    EXPECT_TRUE(proxy.wait_stderr("server app/app1: down -> up (ejection over after 1s)"))
        << proxy.stderr_text();
    EXPECT_GE(spread(proxy.port(), 6)["app1"], 2);
}

TEST(passive, max_ejected_keeps_part_of_the_backend_in_service)
{
    app_server app1{"app1"}, app2{"app2"};
    app1.set_app_status(502);
    app2.set_app_status(502);
    sluice_process proxy{proxy_config{}.backend(
        "app", {app1.address(), app2.address()},
        {"balance: roundrobin",
         "passive: { consecutive_failures: 2, ejection: 10s, max_ejected: 50% }"})};

    EXPECT_EQ(spread(proxy.port(), 12), (counts{{"status 502", 12}}));
    const auto states = std::multiset{state_of(proxy, "app1"), state_of(proxy, "app2")};
    EXPECT_EQ(states, (std::multiset<std::string>{"down", "up"}));  // 1 of 2 is 50%
    EXPECT_EQ(app1.app_requests() + app2.app_requests(), 12u);
}

}  // namespace
}  // namespace sluice::test
