#include "health/api_override.hpp"

#include "health/server_state.hpp"

#include <gtest/gtest.h>

namespace sluice::health {
namespace {

using namespace std::chrono_literals;

TEST(api_override, state_bodies_are_one_word_in_any_case_with_white_space_around)
{
    const std::pair<std::string_view, agent_admin> rows[] = {
        {"ready", agent_admin::ready},
        {"drain\n", agent_admin::drain},
        {" MAINT ", agent_admin::maint},
        {"\tDrain\r\n", agent_admin::drain},
    };
    for (const auto& [body, admin] : rows) {
        const auto parsed = parse_state_body(body);
        ASSERT_TRUE(parsed.change) << body;
        EXPECT_EQ(std::get<agent_admin>(*parsed.change), admin) << body;
    }
}

TEST(api_override, bad_state_bodies_say_what_is_expected_and_what_came)
{
    for (std::string_view body : {"", "up", "drain now", "{\"state\":\"drain\"}"}) {
        const auto parsed = parse_state_body(body);
        EXPECT_FALSE(parsed.change) << body;
        EXPECT_NE(parsed.error.find("expected ready, drain or maint"), std::string::npos);
    }
    EXPECT_NE(parse_state_body("up").error.find("got \"up\""), std::string::npos);
    const auto long_body = parse_state_body(std::string(300, 'x')).error;
    EXPECT_LT(long_body.size(), 120u) << long_body;
}

TEST(api_override, weight_bodies_are_absolute_or_a_percentage)
{
    const std::pair<std::string_view, agent_weight> rows[] = {
        {"0", {0, false}},    {"256", {256, false}}, {"50%", {50, true}},
        {" 0%\n", {0, true}}, {"250%", {250, true}},
    };
    for (const auto& [body, weight] : rows) {
        const auto parsed = parse_weight_body(body);
        ASSERT_TRUE(parsed.change) << body;
        EXPECT_EQ(std::get<agent_weight>(*parsed.change), weight) << body;
    }
    for (std::string_view body :
         {"", "%", "257", "-1", "1.5", "50 %", "abc", "100001%", "99999999999999"}) {
        const auto parsed = parse_weight_body(body);
        EXPECT_FALSE(parsed.change) << body;
        EXPECT_NE(parsed.error.find("0% drains"), std::string::npos) << body;
    }
}

TEST(api_override, ready_lifts_a_state_and_a_zero_weight_but_keeps_another_weight)
{
    api_override o;
    o = apply(o, agent_weight{0, true});
    o = apply(o, agent_admin::drain);
    EXPECT_EQ(describe(o), "drain 0%");
    EXPECT_TRUE(apply(o, agent_admin::ready).empty());
    o = apply(o, agent_weight{50, true});
    EXPECT_EQ(apply(o, agent_admin::ready), (api_override{agent_admin::ready, {{50, true}}}));
    EXPECT_EQ(describe(api_change{agent_weight{3, false}}), "weight 3");
}

struct server : testing::Test {
    config::health health;
    server_state s{&health, {}, 0s, /*weight=*/4, /*max_connections=*/2};
    clock::time_point now = clock::time_point{} + 1h;
    api_override api;

    std::optional<transition> set(api_change change)
    {
        api = health::apply(api, change);
        return s.on_api(api, now += 1s);
    }
    std::optional<transition> agent(std::string_view line)
    {
        return s.on_agent(*parse_agent_reply(line, nullptr), now += 1s);
    }
};

TEST_F(server, an_api_drain_holds_against_checks_and_the_agent_until_the_api_says_ready)
{
    auto t = set(agent_admin::drain);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->to, server_status::busy);
    EXPECT_EQ(t->cause, "admin API: drain");
    EXPECT_EQ(s.set_by(), state_setter::api);
    EXPECT_FALSE(s.on_check(check_result::passed("200"), now += 1s));
    EXPECT_FALSE(agent("ready up 100%"));
    EXPECT_EQ(s.status(), server_status::busy);
    t = set(agent_admin::ready);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->to, server_status::up);
    EXPECT_EQ(t->cause, "admin API: ready");
}

TEST_F(server, api_maint_wins_and_says_so_and_an_agent_drain_shows_when_it_ends)
{
    agent("drain");
    EXPECT_EQ(s.set_by(), state_setter::agent);
    set(agent_admin::maint);
    EXPECT_EQ(s.status(), server_status::maint);
    EXPECT_EQ(s.set_by(), state_setter::api);
    set(agent_admin::ready);
    EXPECT_EQ(s.status(), server_status::busy);
    EXPECT_EQ(s.set_by(), state_setter::agent);
}

TEST_F(server, an_api_weight_replaces_the_agents_and_zero_drains)
{
    agent("25%");
    EXPECT_DOUBLE_EQ(s.effective_weight(now), 1.0);
    set(agent_weight{50, true});
    EXPECT_DOUBLE_EQ(s.effective_weight(now), 2.0);
    agent("10%");  // the API's weight still holds
    EXPECT_DOUBLE_EQ(s.effective_weight(now), 2.0);
    auto t = set(agent_weight{0, true});
    ASSERT_TRUE(t);
    EXPECT_EQ(t->to, server_status::busy);
    EXPECT_EQ(s.set_by(), state_setter::api);
    set(agent_admin::ready);  // lifts the zero weight: the agent's 10% applies again
    EXPECT_EQ(s.status(), server_status::up);
    EXPECT_DOUBLE_EQ(s.effective_weight(now), 0.4);
}

TEST_F(server, checks_set_a_down_state_under_an_api_drain_and_the_drain_shows_after)
{
    health.fall = 1;
    s.reconfigure(&health, {}, 0s, 4, 2);
    set(agent_admin::drain);
    s.on_check(check_result::failed("connect refused"), now += 1s);
    EXPECT_EQ(s.status(), server_status::down);
    EXPECT_EQ(s.set_by(), state_setter::check);
    EXPECT_EQ(s.last_check_at(), now);
    s.on_check(check_result::passed("200"), now += 1s);
    s.on_check(check_result::passed("200"), now += 1s);
    EXPECT_EQ(s.status(), server_status::busy);
    EXPECT_EQ(s.set_by(), state_setter::api);
}

TEST(state_setter, names_are_those_of_status)
{
    EXPECT_EQ(to_string(state_setter::api), "api");
    EXPECT_EQ(to_string(state_setter::agent), "agent");
    EXPECT_EQ(to_string(state_setter::check), "check");
}

}  // namespace
}  // namespace sluice::health
