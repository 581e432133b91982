#include "health/agent_reply.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sluice::health {
namespace {

agent_reply with(auto&& set)
{
    agent_reply r;
    set(r);
    return r;
}

agent_weight percent(unsigned n) { return {n, true}; }
agent_weight absolute(unsigned n) { return {n, false}; }

struct valid_case {
    std::string line;
    agent_reply expected;
    std::string problem = {};          // what is reported next to an accepted reply
    bool prefixes_are_subsets = true;  // false where a later word overrides an earlier one
};

const std::vector<valid_case>& valid_cases()
{
    static const std::vector<valid_case> cases{
        {"", {}},
        {"\n", {}},
        {" \t,, \r\n", {}},
        {"up", with([](auto& r) { r.health = agent_health::up; })},
        {"down", with([](auto& r) { r.health = agent_health::down; })},
        {"fail", with([](auto& r) { r.health = agent_health::fail; })},
        {"stopped", with([](auto& r) { r.health = agent_health::stopped; })},
        {"ready", with([](auto& r) { r.admin = agent_admin::ready; })},
        {"drain", with([](auto& r) { r.admin = agent_admin::drain; })},
        {"maint", with([](auto& r) { r.admin = agent_admin::maint; })},
        {"UP", with([](auto& r) { r.health = agent_health::up; })},
        {"Drain", with([](auto& r) { r.admin = agent_admin::drain; })},
        {"75%", with([](auto& r) { r.weight = percent(75); })},
        {"0%", with([](auto& r) { r.weight = percent(0); })},
        {"300%", with([](auto& r) { r.weight = percent(300); })},  // capped when applied
        {"weight:3", with([](auto& r) { r.weight = absolute(3); })},
        {"weight:0", with([](auto& r) { r.weight = absolute(0); })},
        {"WEIGHT:256", with([](auto& r) { r.weight = absolute(256); })},
        {"weight:75%", with([](auto& r) { r.weight = percent(75); })},
        {"maxconn:30", with([](auto& r) { r.max_connections = 30; })},
        {"maxconn:0", with([](auto& r) { r.max_connections = 0; })},
        {"MaxConn:4294967295", with([](auto& r) { r.max_connections = 4294967295u; })},
        {"#deploying", with([](auto& r) { r.reason = "deploying"; })},
        {"#", with([](auto& r) { r.reason = ""; })},
        {"  #  spaces, commas,\t#hash  \r\n",
         with([](auto& r) { r.reason = "spaces, commas,\t#hash"; })},
        // HAProxy's own regression test (reg-tests/checks/agent-check.vtc) sends this line.
        {"75%,maxconn:30,maint,down\n", with([](auto& r) {
             r.weight = percent(75);
             r.max_connections = 30;
             r.admin = agent_admin::maint;
             r.health = agent_health::down;
         })},
        {"down #disk full, see ops#42\r\n", with([](auto& r) {
             r.health = agent_health::down;
             r.reason = "disk full, see ops#42";
         })},
        {"drain\t75%  maxconn:4 ,\t,up", with([](auto& r) {
             r.admin = agent_admin::drain;
             r.weight = percent(75);
             r.max_connections = 4;
             r.health = agent_health::up;
         })},
        {",,,ready,,,", with([](auto& r) { r.admin = agent_admin::ready; })},
        {"ready up 100%\n", with([](auto& r) {
             r.admin = agent_admin::ready;
             r.health = agent_health::up;
             r.weight = percent(100);
         })},
        {"up down", with([](auto& r) { r.health = agent_health::down; }), "", false},
        {"drain ready", with([](auto& r) { r.admin = agent_admin::ready; }), "", false},
        {"50% weight:2 75%", with([](auto& r) { r.weight = percent(75); }), "", false},
        {"up\nmaint", with([](auto& r) { r.health = agent_health::up; })},
        {"up\rmaint\n", with([](auto& r) { r.health = agent_health::up; })},
        {"up foo", with([](auto& r) { r.health = agent_health::up; }),
         "ignored unknown words: 'foo'"},
        {"drain up#x 75 bar", with([](auto& r) { r.admin = agent_admin::drain; }),
         "ignored unknown words: 'up#x', '75', 'bar'"},
    };
    return cases;
}

std::optional<agent_reply> parse(std::string_view line, std::string* problem = nullptr)
{
    return parse_agent_reply(line, problem);
}

TEST(agent_reply, every_valid_line_parses_whole_and_from_two_halves)
{
    for (const auto& c : valid_cases()) {
        SCOPED_TRACE("line: \"" + c.line + "\"");
        std::string problem = "stale";
        EXPECT_EQ(parse(c.line, &problem), c.expected);
        EXPECT_EQ(problem, c.problem);
        for (std::size_t k = 0; k <= c.line.size(); ++k) {
            const auto joined = c.line.substr(0, k) + c.line.substr(k);
            EXPECT_EQ(parse(joined), c.expected) << "split at " << k;
        }
    }
}

TEST(agent_reply, a_line_ended_early_ignores_everything_after_its_end)
{
    for (const auto& c : valid_cases()) {
        for (std::size_t k = 0; k <= c.line.size(); ++k) {
            SCOPED_TRACE("line: \"" + c.line + "\" ended at " + std::to_string(k));
            const auto head = c.line.substr(0, k);
            for (const char* end : {"\n", "\r", "\r\n"})
                EXPECT_EQ(parse(head + end + c.line.substr(k)), parse(head));
        }
    }
}

// A reply cut short (the agent closed early) either parses or fails with a reason: never a
// crash, never a silent rejection.
TEST(agent_reply, a_truncated_line_parses_as_a_prefix_or_fails_cleanly)
{
    for (const auto& c : valid_cases()) {
        const auto reason_at = std::min(c.line.find('#'), c.line.find_first_of("\r\n"));
        for (std::size_t k = 0; k <= c.line.size(); ++k) {
            SCOPED_TRACE("line: \"" + c.line + "\" cut at " + std::to_string(k));
            std::string problem;
            auto r = parse(std::string_view(c.line).substr(0, k), &problem);
            if (!r) {
                EXPECT_NE(problem, "");
                continue;
            }
            const bool word_boundary = k == c.line.size() ||
                                       std::string_view(" \t,\r\n").find(c.line[k]) !=
                                           std::string::npos;
            if (!c.prefixes_are_subsets || !word_boundary || k > reason_at) continue;
            // Cut between words: what was parsed is exactly what the full line says of it.
            auto same_if_set = [](const auto& part, const auto& whole) {
                if (part) {
                    EXPECT_EQ(part, whole);
                }
            };
            same_if_set(r->weight, c.expected.weight);
            same_if_set(r->max_connections, c.expected.max_connections);
            same_if_set(r->admin, c.expected.admin);
            same_if_set(r->health, c.expected.health);
            EXPECT_EQ(r->reason, std::nullopt);
        }
    }
}

struct malformed_case {
    std::string line;
    std::string problem;
};

TEST(agent_reply, malformed_lines_are_rejected_whole_with_the_reason)
{
    const std::vector<malformed_case> cases{
        {"hello", "no known word in the reply: 'hello'"},
        {"hello, world\n", "no known word in the reply: 'hello', 'world'"},
        {"75", "no known word in the reply: '75'"},
        {"-5%", "no known word in the reply: '-5%'"},
        {"%", "no known word in the reply: '%'"},
        {"up#x", "no known word in the reply: 'up#x'"},
        {"\x01\xff\x7f", "no known word in the reply: '\x01\xff\x7f'"},
        {"maxconn:abc", "invalid value in 'maxconn:abc'"},
        {"maxconn:", "invalid value in 'maxconn:'"},
        {"maxconn: 5", "invalid value in 'maxconn:'"},
        {"maxconn:-1", "invalid value in 'maxconn:-1'"},
        {"maxconn:5x", "invalid value in 'maxconn:5x'"},
        {"maxconn:4294967296", "invalid value in 'maxconn:4294967296'"},
        {"150x%", "invalid value in '150x%'"},
        {"1%%", "invalid value in '1%%'"},
        {"99999999999%", "invalid value in '99999999999%'"},
        {"weight:", "invalid value in 'weight:'"},
        {"weight:x", "invalid value in 'weight:x'"},
        {"weight:%", "invalid value in 'weight:%'"},
        {"weight:-1", "invalid value in 'weight:-1'"},
        {"weight:257", "invalid value in 'weight:257'"},
        {"up drain maxconn:abc #why", "invalid value in 'maxconn:abc'"},
        {"drain 150x% up", "invalid value in '150x%'"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE("line: \"" + c.line + "\"");
        std::string problem;
        EXPECT_EQ(parse(c.line, &problem), std::nullopt);
        EXPECT_EQ(problem, c.problem);
        EXPECT_EQ(parse(c.line), std::nullopt);  // no problem pointer: same verdict
    }
}

TEST(agent_reply, a_bad_word_after_the_end_of_the_line_is_never_read)
{
    EXPECT_EQ(parse("drain\nmaxconn:abc"), with([](auto& r) { r.admin = agent_admin::drain; }));
}

TEST(agent_reply, describe_uses_the_agents_words)
{
    const std::vector<std::pair<std::string, std::string>> cases{
        {"75%,maxconn:30,maint,down", "75% maxconn:30 maint down"},
        {"drain #deploying", "drain (#deploying)"},
        {"weight:3 stopped", "weight:3 stopped"},
        {"#just a note", "#just a note"},
        {"", ""},
    };
    for (const auto& [line, text] : cases) EXPECT_EQ(describe(*parse(line)), text) << line;
}

TEST(agent_reply, only_up_does_not_mean_down)
{
    EXPECT_FALSE(means_down(agent_health::up));
    for (auto h : {agent_health::down, agent_health::fail, agent_health::stopped})
        EXPECT_TRUE(means_down(h)) << to_string(h);
}

}  // namespace
}  // namespace sluice::health
