// The agent check as an operator sees it (SPEC.md "Agent check"): a HAProxy-style agent next to
// app1 drains it, takes it down or into maintenance and back, changes its weight and its slots;
// an agent that cannot be reached, or says only "up", changes nothing.

#include "integration/health_fixtures.hpp"

#include <gtest/gtest.h>

#include <future>

namespace sluice::test {
namespace {

using counts = std::map<std::string, int>;

// Backend "app" over app1, whose agent listens on `agent_port`, and app2 (no agent); both are
// checked over HTTP every 100 ms.
std::string agent_config(const app_server& app1, const app_server& app2, std::uint16_t agent_port)
{
    auto cfg = proxy_config{}.backend("app", {app1.address(), app2.address()},
                                      {"balance: roundrobin", fast_checks()});
    return with_agent_port(cfg.yaml(), app1.address(), agent_port);
}

double effective_weight(const sluice_process& proxy, const std::string& server)
{
    return server_status(proxy, server).value_or(json_line{}).number("effective_weight");
}

TEST(agent, drain_down_and_maint_take_a_server_out_until_the_agent_undoes_them)
{
    struct step {
        std::string say, state, undo, logged;
    };
    const step steps[] = {
        {"drain", "busy", "ready", "server app/app1: up -> busy (agent: drain)"},
        {"down", "down", "up", "server app/app1: up -> down (agent: down)"},
        {"fail #disk full", "down", "up", "server app/app1: up -> down (agent: fail (#disk full))"},
        {"stopped", "down", "up", "server app/app1: up -> down (agent: stopped)"},
        {"maint", "maint", "ready", "server app/app1: up -> maint (agent: maint)"},
    };
    app_server app1{"app1"}, app2{"app2"};
    agent_server agent;
    sluice_process proxy{agent_config(app1, app2, agent.port())};
    ASSERT_TRUE(eventually_slow([&] { return agent.connections() >= 1; }));

    for (const auto& s : steps) {
        SCOPED_TRACE(s.say);
        agent.say(s.say);
        ASSERT_TRUE(wait_state(proxy, "app1", s.state)) << proxy.stderr_text();
        EXPECT_TRUE(proxy.wait_stderr(s.logged)) << proxy.stderr_text();
        EXPECT_EQ(proxy.wait_metric(state_metric("app1", s.state), 1), 1);
        EXPECT_EQ(spread(proxy.port(), 4), (counts{{"app2", 4}}));
        agent.say(s.undo);
        ASSERT_TRUE(wait_state(proxy, "app1", "up")) << proxy.stderr_text();
        EXPECT_GE(spread(proxy.port(), 4)["app1"], 1);
    }
}

TEST(agent, weight_changes_the_share_of_requests)
{
    app_server app1{"app1"}, app2{"app2"};
    agent_server agent{"25%"};
    sluice_process proxy{agent_config(app1, app2, agent.port())};

    // app1's part of 40 requests once /status shows it at `weight`.
    auto app1_share = [&](double weight) {
        EXPECT_TRUE(eventually_slow([&] { return effective_weight(proxy, "app1") == weight; }));
        auto share = spread(proxy.port(), 40);
        EXPECT_EQ(share["app1"] + share["app2"], 40);
        return share["app1"];
    };
    const int quarter = app1_share(0.25);  // 1 in 5 expected
    EXPECT_GE(quarter, 4);
    EXPECT_LE(quarter, 13);
    agent.say("weight:3");
    const int triple = app1_share(3.0);  // 3 in 4 expected
    EXPECT_GE(triple, 24);
    EXPECT_LE(triple, 36);

    agent.say("0%");
    ASSERT_TRUE(wait_state(proxy, "app1", "busy")) << proxy.stderr_text();
    EXPECT_EQ(spread(proxy.port(), 6), (counts{{"app2", 6}}));
}

TEST(agent, maxconn_limits_the_requests_at_the_server_at_once)
{
    app_server app{"app1"};
    agent_server agent{"maxconn:1"};
    auto cfg = proxy_config{}.backend("app", {app.address()},
                                      {"server_defaults: { max_connections: 8 }", fast_checks()});
    sluice_process proxy{with_agent_port(cfg.yaml(), app.address(), agent.port())};
    ASSERT_TRUE(eventually_slow([&] {
        return server_status(proxy, "app1").value_or(json_line{}).number("max_connections") == 1;
    })) << http_get(proxy.admin_port(), "/status").body;

    std::vector<std::future<response>> held;
    for (int i = 0; i < 4; ++i) held.push_back(http_get_async(proxy.port(), "/hold"));
    EXPECT_EQ(proxy.wait_metric(R"(sluice_queue_length{backend="app"})", 3), 3);
    EXPECT_TRUE(eventually([&] { return app.app_in_flight() == 1; }));
    app.release();
    for (auto& h : held) EXPECT_EQ(h.get().status, 200);
    EXPECT_EQ(app.max_app_in_flight(), 1u);
    EXPECT_EQ(app.app_requests(), 4u);
}

TEST(agent, an_unreachable_agent_changes_nothing)
{
    app_server app1{"app1"}, app2{"app2"};
    sluice_process proxy{agent_config(app1, app2, closed_port())};

    ASSERT_TRUE(eventually_slow([&] { return proxy.metric(checks_metric("app1", "pass")) >= 5; }));
    auto status = server_status(proxy, "app1").value_or(json_line{});
    EXPECT_EQ(status["state"], "up");
    EXPECT_EQ(status.number("effective_weight"), 1.0);
    EXPECT_NE(status["last_check"].find("agent unreachable"), std::string::npos) << status.text();
    EXPECT_TRUE(proxy.wait_stderr("server app/app1: agent unreachable")) << proxy.stderr_text();
    auto share = spread(proxy.port(), 4);
    EXPECT_GE(share["app1"], 1);
    EXPECT_EQ(share["app1"] + share["app2"], 4);
}

TEST(agent, only_the_agent_undoes_its_drain_and_not_by_going_away)
{
    app_server app1{"app1"}, app2{"app2"};
    auto agent = std::make_unique<agent_server>("drain");
    sluice_process proxy{agent_config(app1, app2, agent->port())};
    ASSERT_TRUE(wait_state(proxy, "app1", "busy")) << proxy.stderr_text();

    agent->say("up");  // health, not admin state: the drain stays
    const auto told = agent->connections();
    ASSERT_TRUE(eventually_slow([&] { return agent->connections() >= told + 3; }));
    EXPECT_EQ(state_of(proxy, "app1"), "busy");

    agent.reset();  // unreachable from now on
    const auto passed = proxy.metric(checks_metric("app1", "pass")).value_or(0);
    ASSERT_TRUE(
        eventually_slow([&] { return proxy.metric(checks_metric("app1", "pass")) >= passed + 3; }));
    EXPECT_EQ(state_of(proxy, "app1"), "busy");
    EXPECT_EQ(spread(proxy.port(), 4), (counts{{"app2", 4}}));
}

}  // namespace
}  // namespace sluice::test
