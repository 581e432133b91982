#include "health/server_state.hpp"

#include <gtest/gtest.h>

#include <variant>
#include <vector>

namespace sluice::health {
namespace {

using namespace std::chrono_literals;
using ms = std::chrono::milliseconds;
using enum server_status;

// What happens to the server in one step of a scenario.
struct agent_line {
    std::string text;
};
struct agent_gone {};
struct request {
    bool failed;
    bool ejection_allowed = true;
    std::string what = {};
};
struct tick_now {};
using event = std::variant<check_result, agent_line, agent_gone, request, tick_now>;

check_result pass() { return check_result::passed("200"); }
check_result fail() { return check_result::failed("connect refused"); }
check_result busy_answer() { return check_result::busy(503); }
request failed_request(bool allowed = true) { return {true, allowed, "502"}; }
request ok_request() { return {false}; }

struct step {
    ms at;  // since the start of the scenario
    event what;
    std::optional<server_status> to = std::nullopt;  // the new state when this step changes it
    std::string cause = {};                          // checked when not empty
};

const auto start = clock::time_point{} + 1h;

// `n` failed requests 100 ms apart from `from`: 4 is one short of the fixture's limit of 5.
std::vector<step> failures(int n, ms from = 0ms)
{
    std::vector<step> steps;
    for (int i = 0; i < n; ++i) steps.push_back({from + ms(100 * i), failed_request()});
    return steps;
}

std::optional<transition> apply(server_state& s, const event& e, clock::time_point now)
{
    struct visitor {
        server_state& s;
        clock::time_point now;
        auto operator()(const check_result& r) { return s.on_check(r, now); }
        auto operator()(const agent_line& a)
        {
            auto reply = parse_agent_reply(a.text, nullptr);
            EXPECT_TRUE(reply) << a.text;
            return s.on_agent(reply.value_or(agent_reply{}), now);
        }
        auto operator()(agent_gone) { return s.on_agent_unreachable(now); }
        auto operator()(const request& r)
        {
            return s.on_request_result(r.failed, now, r.ejection_allowed, r.what);
        }
        auto operator()(tick_now) { return s.tick(now); }
    };
    return std::visit(visitor{s, now}, e);
}

void run(server_state& s, const std::vector<step>& steps)
{
    auto from = s.status();
    for (std::size_t i = 0; i < steps.size(); ++i) {
        const auto& st = steps[i];
        SCOPED_TRACE(testing::Message() << "step " << i << " at " << st.at.count() << "ms");
        auto t = apply(s, st.what, start + st.at);
        if (!st.to) {
            EXPECT_EQ(t, std::nullopt) << t->cause;
            continue;
        }
        ASSERT_TRUE(t);
        EXPECT_EQ(t->from, from);
        EXPECT_EQ(t->to, *st.to);
        if (!st.cause.empty()) {
            EXPECT_EQ(t->cause, st.cause);
        }
        from = *st.to;
        EXPECT_EQ(s.status(), from);
    }
}

config::health checks(unsigned rise = 2, unsigned fall = 3)
{
    config::health h;
    h.rise = rise;
    h.fall = fall;
    return h;
}

config::passive passive(unsigned failures = 5)
{
    return {.consecutive_failures = failures, .ejection = 30s, .max_ejected_percent = 50};
}

struct fixture {
    config::health health = checks();
    server_state s{&health, passive(), 10s, /*weight=*/4, /*max_connections=*/2};
};

TEST(server_state, starts_up_with_or_without_active_checks)
{
    fixture f;
    EXPECT_EQ(f.s.status(), up);
    server_state unchecked{nullptr, passive(), 10s, 1, 0};
    EXPECT_EQ(unchecked.status(), up);
    EXPECT_EQ(unchecked.last_check_summary(), "no check yet");
}

// A server DNS discovery found may not listen yet: down until a check answers, then up after
// that one answer (not `rise`), with the slow-start ramp.
TEST(server_state, a_server_found_by_dns_waits_for_its_first_passing_check)
{
    fixture f;  // rise 2, slow_start 10s
    f.s.await_first_check(start);
    EXPECT_EQ(f.s.status(), down);
    EXPECT_FALSE(f.s.takes_new_requests(start));
    run(f.s, {
                 {0ms, fail()},
                 {100ms, fail()},
                 {200ms, pass(), up, "first check passed: 200"},
                 {300ms, fail()},
             });
    EXPECT_DOUBLE_EQ(f.s.effective_weight(start + 200ms), 4 * slow_start_floor);
    // Afterwards, the usual rules: `fall` failures in a row take it down, `rise` bring it back.
    run(f.s, {
                 {400ms, fail()},
                 {500ms, fail(), down},
                 {600ms, pass()},
                 {700ms, pass(), up},
             });
}

TEST(server_state, goes_down_only_after_fall_failures_in_a_row)
{
    fixture f;
    run(f.s, {
                 {2s, fail()},
                 {4s, pass()},  // breaks the streak
                 {6s, fail()},
                 {8s, fail()},
                 {10s, fail(), down, "3 checks in a row, last failed: connect refused"},
                 {12s, fail()},
             });
}

check_result saturated() { return check_result::saturated("timed out with all 2 slots in use"); }

// Issue 13 point 2: a check that timed out on a busy server is no evidence either way.
TEST(server_state, a_saturated_timeout_neither_passes_nor_fails_nor_breaks_a_streak)
{
    fixture f;
    run(f.s, {
                 {2s, fail()},
                 {4s, saturated()},
                 {6s, saturated()},
                 {8s, fail()},
                 {10s, saturated()},
                 {12s, fail(), down, "3 checks in a row, last failed: connect refused"},
                 {14s, pass()},
                 {16s, saturated()},
                 {18s, pass(), up, "2 checks in a row, last passed: 200"},
                 {20s, saturated()},
                 {22s, saturated()},
                 {24s, saturated()},
                 {26s, saturated()},
             });
    EXPECT_EQ(f.s.last_check_summary(),
              "check busy, not counted: timed out with all 2 slots in use");
}

TEST(server_state, a_saturated_timeout_keeps_a_busy_status_answer_busy)
{
    fixture f;
    run(f.s, {{2s, busy_answer(), busy}, {4s, saturated()}, {6s, pass(), up}});
}

TEST(server_state, results_have_their_metric_labels)
{
    using kind = check_result::kind;
    EXPECT_EQ(metric_label(kind::pass), "pass");
    EXPECT_EQ(metric_label(kind::fail), "fail");
    EXPECT_EQ(metric_label(kind::busy), "busy");
    EXPECT_EQ(metric_label(kind::saturated), "busy");
    EXPECT_TRUE(check_result::timeout().timed_out);
    EXPECT_FALSE(check_result::failed("timed out").timed_out);
}

TEST(server_state, cause_says_why_the_server_is_in_its_state)
{
    fixture f;
    EXPECT_EQ(f.s.cause(), "");
    run(f.s, {{2s, fail()}, {4s, fail()}, {6s, fail(), down}});
    EXPECT_EQ(f.s.cause(), "3 checks in a row, last failed: connect refused");
    run(f.s, {{8s, pass()}, {10s, pass(), up}});
    EXPECT_EQ(f.s.cause(), "2 checks in a row, last passed: 200");
}

TEST(unavailable_reason, is_empty_while_a_server_is_up)
{
    fixture a, b;
    run(a.s, {{2s, fail()}, {4s, fail()}, {6s, fail(), down}});
    EXPECT_EQ(unavailable_reason({{"app1", &a.s}, {"app2", &b.s}}), "");
}

TEST(unavailable_reason, names_each_server_and_why_it_is_out)
{
    fixture a, b;
    run(a.s,
        {{2s, check_result::failed("the server closed the connection without answering")},
         {4s, fail()},
         {6s, check_result::failed("the server closed the connection without answering"), down}});
    run(b.s, {{2s, fail()}, {4s, fail()}, {6s, fail(), down}});
    EXPECT_EQ(unavailable_reason({{"app1", &a.s}, {"app2", &b.s}}),
              "every server is down: app1 (3 checks in a row, last failed: the server closed the "
              "connection without answering); app2 (3 checks in a row, last failed: connect "
              "refused)");
    run(b.s, {{8s, agent_line{"maint"}, maint}});
    EXPECT_EQ(unavailable_reason({{"app1", &a.s}, {"app2", &b.s}}),
              "no server is up: app1 down (3 checks in a row, last failed: the server closed the "
              "connection without answering); app2 maint (agent: maint)");
    EXPECT_EQ(unavailable_reason({}), "the backend has no server");
}

TEST(server_state, comes_back_up_after_rise_passes_in_a_row)
{
    fixture f;
    run(f.s, {
                 {2s, fail()},
                 {4s, fail()},
                 {6s, fail(), down},
                 {8s, pass()},
                 {10s, fail()},  // breaks the streak
                 {12s, pass()},
                 {14s, pass(), up, "2 checks in a row, last passed: 200"},
             });
}

TEST(server_state, without_checks_one_result_decides)
{
    server_state s{nullptr, passive(), 0s, 1, 0};
    run(s, {{1s, fail(), down, "check failed: connect refused"}, {2s, pass(), up}});
}

TEST(server_state, a_busy_answer_stops_new_requests_until_a_pass)
{
    fixture f;
    run(f.s, {
                 {2s, busy_answer(), server_status::busy, "check answered 503 (busy_status)"},
                 {4s, busy_answer()},
                 {6s, fail()},  // still busy: one failure is not `fall`
                 {8s, pass(), up, "check passed: 200"},
             });
}

TEST(server_state, busy_answers_count_towards_rise_and_bring_a_server_back_busy)
{
    fixture f;
    run(f.s, {
                 {2s, fail()},
                 {4s, fail()},
                 {6s, fail(), down},
                 {8s, busy_answer()},
                 {10s, busy_answer(), server_status::busy},
                 {12s, pass(), up},
             });
}

TEST(server_state, agent_drain_holds_busy_until_the_agent_says_ready)
{
    fixture f;
    run(f.s,
        {
            {1s, agent_line{"drain #deploying"}, server_status::busy, "agent: drain (#deploying)"},
            {2s, pass()},  // an HTTP pass does not undo the agent's drain
            {3s, agent_line{"up"}},
            {4s, agent_line{"ready"}, up, "agent: ready"},
        });
}

TEST(server_state, only_the_agent_undoes_its_own_down)
{
    for (const char* word : {"down", "fail", "stopped"}) {
        SCOPED_TRACE(word);
        fixture f;
        run(f.s, {
                     {1s, agent_line{word}, down, std::string("agent: ") + word},
                     {2s, pass()},
                     {4s, pass()},
                     {5s, agent_line{"ready"}},  // admin state, not health
                     {6s, agent_line{"up"}, up, "agent: up"},
                 });
    }
}

TEST(server_state, agent_up_does_not_bring_back_a_server_whose_check_fails)
{
    fixture f;
    run(f.s, {
                 {2s, fail()},
                 {4s, fail()},
                 {6s, fail(), down},
                 {7s, agent_line{"up ready 100%"}},
                 {8s, pass()},
                 {10s, pass(), up},
             });
}

TEST(server_state, maint_wins_over_everything_until_ready)
{
    fixture f;
    run(f.s, {
                 {1s, agent_line{"maint #upgrade"}, maint, "agent: maint (#upgrade)"},
                 {2s, fail()},
                 {4s, fail()},
                 {6s, fail()},                     // checks go on, unseen
                 {7s, agent_line{"drain"}, down},  // drain replaces maint: the failures show
                 {8s, agent_line{"maint"}, maint},
                 {9s, agent_line{"ready"}, down},  // the failed checks still count
                 {10s, pass()},
                 {12s, pass(), up},
             });
}

TEST(server_state, an_agent_weight_of_zero_makes_it_busy)
{
    fixture f;
    run(f.s, {
                 {1s, agent_line{"0%"}, server_status::busy, "agent: 0%"},
                 {2s, agent_line{"up"}},  // weight not sent: stays 0
                 {3s, agent_line{"50%"}, up},
                 {4s, agent_line{"weight:0"}, server_status::busy},
                 {5s, agent_line{"weight:1"}, up},
             });
}

TEST(server_state, an_unreachable_agent_changes_nothing)
{
    fixture f;
    run(f.s, {
                 {1s, agent_line{"drain maxconn:7"}, server_status::busy},
                 {2s, agent_gone{}},
                 {3s, agent_gone{}},
             });
    EXPECT_EQ(f.s.max_connections(), 7u);
    EXPECT_EQ(f.s.last_check_summary(), "agent unreachable (ignored; the check decides)");
}

TEST(server_state, passive_failures_in_a_row_eject_until_the_ejection_time_has_passed)
{
    fixture f;
    auto steps = failures(4);
    steps.push_back({500ms, ok_request()});  // breaks the streak
    for (auto& st : failures(4, 600ms)) steps.push_back(st);
    steps.push_back(
        {1s, failed_request(), down, "ejected for 30s: 5 consecutive failures, last 502"});
    steps.push_back({1100ms, failed_request()});  // a late in-flight failure: ignored
    steps.push_back({30999ms, tick_now{}});
    steps.push_back({31s, tick_now{}, up, "ejection over after 30s"});
    steps.push_back({32s, tick_now{}});
    run(f.s, steps);
}

TEST(server_state, rise_passing_checks_in_a_row_end_an_ejection_early)
{
    fixture f;  // rise 2
    auto steps = failures(4);
    steps.push_back({400ms, failed_request(), down});
    steps.push_back({1s, pass()});
    steps.push_back({2s, busy_answer()});  // alive but busy: not a pass, and breaks the row
    steps.push_back({3s, pass()});
    steps.push_back({4s, pass(), up, "check passed: 200, 2 in a row end the ejection"});
    steps.push_back({31s, tick_now{}});
    run(f.s, steps);
}

// Found by tests/soak: a server whose check page passes while every request resets went out
// and back in at each check, failing five requests a round.
TEST(server_state, one_pass_does_not_end_an_ejection_when_rise_asks_for_more)
{
    fixture f;
    auto steps = failures(4);
    steps.push_back({400ms, failed_request(), down});
    steps.push_back({1s, pass()});
    steps.push_back({2s, fail()});
    steps.push_back({3s, pass()});
    steps.push_back({30399ms, tick_now{}});
    steps.push_back({30400ms, tick_now{}, up, "ejection over after 30s"});
    run(f.s, steps);
}

TEST(server_state, max_ejected_defers_an_ejection_to_the_next_failure)
{
    fixture f;
    auto steps = failures(4);
    steps.push_back({400ms, failed_request(false)});
    steps.push_back({500ms, failed_request(false)});
    steps.push_back({600ms, failed_request(true), down});
    run(f.s, steps);
}

TEST(server_state, passive_checks_off_never_eject)
{
    server_state s{nullptr, passive(0), 0s, 1, 0};
    for (int i = 0; i < 100; ++i) EXPECT_EQ(s.on_request_result(true, start, true), std::nullopt);
    EXPECT_EQ(s.status(), up);
}

TEST(server_state, a_busy_server_can_still_be_ejected)
{
    fixture f;
    std::vector<step> steps{{0s, busy_answer(), server_status::busy}};
    for (auto& st : failures(4, 100ms)) steps.push_back(st);
    steps.push_back({500ms, failed_request(), down});
    steps.push_back({31s, tick_now{}, server_status::busy});  // the busy answer still holds
    run(f.s, steps);
}

// Brings the server down and back up: 3 failed then 2 passed checks, 1 s apart, the last at
// `back`. Returns when it came back up (with rise 1, at the first pass).
clock::time_point bounce(server_state& s, clock::time_point back)
{
    for (auto at : {back - 5s, back - 4s, back - 3s}) s.on_check(fail(), at);
    std::optional<clock::time_point> up_at;
    for (auto at : {back - 1s, back})
        if (auto t = s.on_check(pass(), at); t && t->to == up) up_at = at;
    EXPECT_TRUE(up_at.has_value()) << "the server did not come back up";
    return up_at.value_or(back);
}

TEST(server_state, slow_start_ramps_the_weight_linearly_after_coming_back)
{
    fixture f;  // weight 4, slow_start 10s
    const auto back = bounce(f.s, start + 1min);
    const std::vector<std::pair<ms, double>> ramp{
        {0ms, 4 * slow_start_floor},  // the floor: some traffic at once
        {50ms, 4 * slow_start_floor},
        {2500ms, 1.0},
        {5s, 2.0},
        {7500ms, 3.0},
        {10s, 4.0},
        {1h, 4.0},
    };
    for (const auto& [after, weight] : ramp)
        EXPECT_DOUBLE_EQ(f.s.effective_weight(back + after), weight) << after.count() << "ms";
    EXPECT_TRUE(f.s.takes_new_requests(back));
}

TEST(server_state, no_ramp_at_start_or_when_leaving_busy_or_without_slow_start)
{
    fixture f;
    EXPECT_DOUBLE_EQ(f.s.effective_weight(start), 4.0);
    f.s.on_check(busy_answer(), start);
    f.s.on_check(pass(), start + 1s);
    EXPECT_DOUBLE_EQ(f.s.effective_weight(start + 1s), 4.0);

    server_state quick{nullptr, passive(), 0s, 4, 0};
    const auto back = bounce(quick, start + 1min);
    EXPECT_DOUBLE_EQ(quick.effective_weight(back), 4.0);
}

TEST(server_state, the_ramp_restarts_after_maint_and_each_return)
{
    fixture f;
    bounce(f.s, start + 1min);
    f.s.on_agent(*parse_agent_reply("maint", nullptr), start + 2min);
    EXPECT_DOUBLE_EQ(f.s.effective_weight(start + 2min), 0.0);
    f.s.on_agent(*parse_agent_reply("ready", nullptr), start + 3min);
    EXPECT_DOUBLE_EQ(f.s.effective_weight(start + 3min + 5s), 2.0);
    const auto back = bounce(f.s, start + 4min);
    EXPECT_DOUBLE_EQ(f.s.effective_weight(back + 2500ms), 1.0);
}

TEST(server_state, a_ramp_interrupted_by_a_drain_goes_on_where_it_was)
{
    fixture f;
    const auto back = bounce(f.s, start + 1min);
    f.s.on_agent(*parse_agent_reply("drain", nullptr), back + 2s);
    EXPECT_DOUBLE_EQ(f.s.effective_weight(back + 3s), 0.0);
    EXPECT_FALSE(f.s.takes_new_requests(back + 3s));
    f.s.on_agent(*parse_agent_reply("ready", nullptr), back + 4s);
    EXPECT_DOUBLE_EQ(f.s.effective_weight(back + 5s), 2.0);
}

TEST(server_state, agent_weights_scale_or_replace_the_configured_weight)
{
    const std::vector<std::pair<std::string, double>>
        cases{
            {"100%", 4.0}, {"50%", 2.0},      {"weight:50%", 2.0}, {"1%", 0.04},
            {"200%", 8.0}, {"10000%", 256.0}, {"weight:10", 10.0}, {"weight:256", 256.0},
            {"up", 4.0},  // no weight sent: the configured one
        };
    for (const auto& [line, weight] : cases) {
        fixture f;
        f.s.on_agent(*parse_agent_reply(line, nullptr), start);
        EXPECT_DOUBLE_EQ(f.s.effective_weight(start), weight) << line;
    }
}

TEST(server_state, max_connections_is_the_agents_once_sent)
{
    fixture f;  // configured: 2
    const std::vector<std::pair<std::string, unsigned>> steps{
        {"up", 2}, {"maxconn:30", 30}, {"drain", 30}, {"ready 50%", 30}, {"maxconn:0", 0},
    };
    for (const auto& [line, expected] : steps) {
        f.s.on_agent(*parse_agent_reply(line, nullptr), start);
        EXPECT_EQ(f.s.max_connections(), expected) << line;
    }
}

TEST(server_state, only_an_up_server_takes_new_requests)
{
    fixture f;
    const std::vector<std::pair<std::string, bool>> steps{
        {"drain", false}, {"ready", true}, {"maint", false}, {"ready down", false},
        {"up", true},     {"0%", false},   {"100%", true},
    };
    for (const auto& [line, takes] : steps) {
        f.s.on_agent(*parse_agent_reply(line, nullptr), start + 1h);
        EXPECT_EQ(f.s.takes_new_requests(start + 1h), takes) << line;
    }
}

TEST(server_state, the_summary_shows_the_last_check_and_the_last_agent_reply)
{
    fixture f;
    f.s.on_check(fail(), start);
    EXPECT_EQ(f.s.last_check_summary(), "check failed: connect refused (1 of 3 to go down)");
    f.s.on_agent(*parse_agent_reply("75% drain #deploying\r\n", nullptr), start);
    EXPECT_EQ(f.s.last_check_summary(),
              "check failed: connect refused (1 of 3 to go down); agent: 75% drain (#deploying)");
}

TEST(server_state, states_are_named_as_in_the_metrics)
{
    EXPECT_EQ(to_string(up), "up");
    EXPECT_EQ(to_string(busy), "busy");
    EXPECT_EQ(to_string(down), "down");
    EXPECT_EQ(to_string(maint), "maint");
}

}  // namespace
}  // namespace sluice::health
