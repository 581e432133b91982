#include "config/timeout_chain.hpp"

#include "config/loader.hpp"
#include "config/timeout_chain_rules.hpp"

#include <gtest/gtest.h>

#include <algorithm>

// SPEC.md "check and run agree": the defaults agree with each other, and the fixes `sluice
// check` proposes, applied together, give a config with no finding (issue 13, point 8).

namespace sluice::config {
namespace {

struct shape {
    std::string timeouts;         // flow map body: "queue: 30s, server: 24s"
    std::string server_defaults;  // after max_connections: ", worker_timeout: 30s"
    std::string backend_extra;    // lines under the app backend
    std::string routes;           // route lines under the listener
    std::string app2_extra;       // after app2's address
};

// Listeners, one backend with max_connections and its servers: what an operator writes first.
std::string yaml(const shape& s)
{
    std::string y = "listeners:\n  - name: web\n    bind: 127.0.0.1:8080\n";
    if (!s.routes.empty()) y += "    routes:\n" + s.routes;
    y += "    default_backend: app\n";
    if (!s.timeouts.empty()) y += "timeouts: { " + s.timeouts + " }\n";
    y += "backends:\n  - name: app\n    server_defaults: { max_connections: 2" + s.server_defaults +
         " }\n" + s.backend_extra +
         "    servers:\n      - { name: app1, address: 127.0.0.1:8000 }\n"
         "      - { name: app2, address: 127.0.0.1:8001" +
         s.app2_extra +
         " }\n"
         "  - name: deployer\n"
         "    server_defaults: { max_connections: 1, keepalive_timeout: 30s, "
         "worker_timeout: 10m }\n"
         "    servers:\n      - { name: deploy1, address: 127.0.0.1:8100 }\n";
    return y;
}

std::string listed(const std::vector<finding>& findings)
{
    std::string out;
    for (const auto& f : findings) out += "\n  [" + f.rule + "] " + f.where + ": fix: " + f.fix;
    return out;
}

TEST(timeout_chain_solve, listeners_a_backend_with_max_connections_and_servers_are_aligned)
{
    const auto loaded = load_string(yaml({}), "t.yaml");
    const auto report = analyze_timeouts(loaded.config);
    EXPECT_TRUE(report.findings.empty()) << listed(report.findings);
    EXPECT_TRUE(passes(report, /*strict=*/true));
    EXPECT_TRUE(loaded.warnings.empty());
    ASSERT_EQ(report.notes.size(), 1u);  // what it assumes of the app server, said once
    EXPECT_EQ(report.notes[0].rule, "keepalive_timeout_assumed");
    EXPECT_EQ(report.notes[0].level, finding::severity::note);
}

TEST(timeout_chain_solve, the_fixes_applied_together_leave_no_finding)
{
    const auto deploy = [](std::string timeouts) {
        return "      - match: { path_prefix: /deploy }\n        backend: deployer\n"
               "        timeouts: { " +
               timeouts + " }\n";
    };
    const auto to_app = [](std::string timeouts) {
        return "      - match: { path_prefix: /slow }\n        backend: app\n"
               "        timeouts: { " +
               timeouts + " }\n";
    };
    const std::pair<std::string_view, shape> cases[] = {
        {"issue_13_round_1_defaults", {"queue: 30s, server: 55s, drain: 30s"}},
        {"issue_13_the_circle", {"queue: 30s, server: 24s", ", worker_timeout: 30s"}},
        {"client_idle_below_the_lb", {"client_idle: 30s"}},
        {"an_explicit_deadline_past_the_lb", {"server: 50s, request: 90s"}},
        {"a_deadline_the_lb_never_lets_fire", {"request: 60s"}},
        {"a_deadline_shorter_than_the_worker", {"request: 20s", ", worker_timeout: 30s"}},
        {"a_worker_timeout_longer_than_the_lb", {"", ", worker_timeout: 2m"}},
        {"a_long_queue_and_a_long_worker", {"queue: 40s", ", worker_timeout: 50s"}},
        {"one_server_longer_than_the_rest",
         {"server: 35s", ", worker_timeout: 30s", "", "", ", worker_timeout: 50s"}},
        {"a_deploy_route_longer_than_the_lb", {"", "", "", deploy("server: 10m")}},
        {"a_route_shortening_client_idle", {"", "", "", deploy("client_idle: 30s")}},
        {"a_global_fix_pushes_a_route_past_the_lb",
         {"server: 20s", ", worker_timeout: 40s", "", to_app("queue: 30s")}},
        {"a_route_with_a_longer_deadline_than_drain",
         {"drain: 30s", ", worker_timeout: 45s", "", to_app("server: 50s")}},
        {"a_pool_over_a_declared_keepalive",
         {"", ", keepalive_timeout: 10s", "    keepalive: { idle_timeout: 20s }\n"}},
        {"a_pool_over_an_assumed_keepalive", {"", "", "    keepalive: { idle_timeout: 20s }\n"}},
        {"a_health_timeout_as_long_as_the_interval",
         {"", "", "    health: { interval: 2s, timeout: 3s }\n"}},
        {"a_header_timeout_as_long_as_client_idle", {"client_header: 80s"}},
        {"a_queue_timeout_of_0", {"queue: 0s"}},
        {"unbuffered_behind_a_30s_worker",
         {"", ", worker_timeout: 30s", "    buffering: { request: off, response: off }\n"}},
        {"a_lowered_worker_under_an_unbuffered_upload",
         {"", ", worker_timeout: 90s", "    buffering: { request: off }\n"}},
        {"an_lb_of_2s",
         {"upstream_idle: 2s, client_idle: 3s, queue: 1s, connect: 1s, server: 10s"}},
        {"everything_at_once",
         {"queue: 30s, server: 24s, client_idle: 30s, client_header: 40s, drain: 5s",
          ", worker_timeout: 30s, keepalive_timeout: 5s",
          "    keepalive: { idle_timeout: 20s }\n    buffering: { response: off }\n",
          deploy("server: 10m") + to_app("queue: 45s")}},
    };
    for (const auto& [name, s] : cases) {
        SCOPED_TRACE(name);
        auto cfg = load_string(yaml(s), "t.yaml").config;
        const auto before = analyze_timeouts(cfg);
        ASSERT_FALSE(before.findings.empty()) << "the case is aligned already";
        for (const auto& f : before.findings) {
            // A finding another fix resolves says so instead of proposing an edit.
            EXPECT_TRUE(!f.changes.empty() || f.fix.starts_with("none of its own: with the "
                                                                "other fixes, "))
                << f.rule << ": " << f.fix;
            for (const auto& c : f.changes)
                EXPECT_TRUE(apply_change(cfg, c)) << c.key << " = " << c.value;
        }
        const auto after = analyze_timeouts(cfg);
        EXPECT_TRUE(after.findings.empty())
            << "before:" << listed(before.findings) << "\nafter:" << listed(after.findings);
    }
}

TEST(timeout_chain_solve, issue_13_a_short_queue_is_what_fits_not_a_circle)
{
    // server 24 s below the app's 30 s: raising server alone breaks the LB budget (30 + 3 + 32 =
    // 65 s > 60 s), lowering it again breaks the worker rule. The queue gives way.
    const auto cfg =
        load_string(yaml({"queue: 30s, server: 24s", ", worker_timeout: 30s"}), "t.yaml").config;
    const auto report = analyze_timeouts(cfg);
    const std::vector<change> expected{{"timeouts.queue", "22s"}, {"timeouts.server", "32s"}};
    for (const auto& f : report.findings) {
        if (f.rule == "drain_vs_request_deadline") continue;
        EXPECT_EQ(f.changes, expected) << f.rule << ": " << f.fix;
        EXPECT_TRUE(f.fix.starts_with("set timeouts.queue to 22s and timeouts.server to 32s"))
            << f.fix;
    }
}

TEST(timeout_chain_solve, the_app_servers_timeout_comes_down_only_when_nothing_else_fits)
{
    const auto cfg = load_string(yaml({"", ", worker_timeout: 2m"}), "t.yaml").config;
    const auto report = analyze_timeouts(cfg);
    const auto it = std::ranges::find(report.findings, "server_vs_worker_timeout", &finding::rule);
    ASSERT_NE(it, report.findings.end()) << listed(report.findings);
    // 2 m does not fit under the LB's 60 s even behind a 1 s queue, so the worker comes down and
    // the queue keeps its 10 s: queue 10 s + connect 3 s + server 44 s = 57 s, workers killed at
    // 41 s, before server.
    const std::vector<change> expected{{"timeouts.server", "44s"},
                                       {"backends[0].server_defaults.worker_timeout", "41s"}};
    EXPECT_EQ(it->changes, expected) << it->fix;
    EXPECT_NE(it->fix.find("or raise the load balancer's idle timeout"), std::string::npos);
}

TEST(timeout_chain_solve, a_solved_scope_is_solved_again_unchanged)
{
    using chain_rules::scope_needs;
    const auto chain_rules_solve = [](const timeouts& t, const scope_needs& needs) {
        return chain_rules::solve_scope(t, needs).t;
    };
    const scope_needs needs_list[] = {{}, {30s, true}, {2min, true}, {50s, false}};
    for (duration lb : {0s, 2s, 60s, 350s}) {
        for (const auto& needs : needs_list) {
            timeouts t;
            t.upstream_idle = lb;
            t.queue = 30s;
            t.server = 24s;
            t.drain = 5s;
            const auto once = chain_rules_solve(t, needs);
            const auto twice = chain_rules_solve(once, needs);
            for (const auto& f : timeout_fields)
                EXPECT_EQ(once.*f.value, twice.*f.value) << f.key << " lb " << lb.count();
        }
    }
}

TEST(timeout_chain_solve, a_server_defaults_change_reaches_the_servers_that_inherit_it)
{
    auto cfg = load_string(yaml({"", ", worker_timeout: 30s", "", "", ", worker_timeout: 50s"}),
                           "t.yaml")
                   .config;
    EXPECT_TRUE(apply_change(cfg, {"backends[0].server_defaults.worker_timeout", "20s"}));
    EXPECT_EQ(cfg.backends[0].servers[0].worker_timeout, 20s);
    EXPECT_EQ(cfg.backends[0].servers[1].worker_timeout, 50s);  // its own line wins
    EXPECT_TRUE(apply_change(cfg, {"listeners[0].routes[0].timeouts.queue", "5s"}) == false);
    EXPECT_FALSE(apply_change(cfg, {"timeouts.queue", "soon"}));
    EXPECT_FALSE(apply_change(cfg, {"backends[0].nonsense", "1s"}));
    EXPECT_TRUE(apply_change(cfg, {"backends[0].buffering.request", "off"}));
    EXPECT_FALSE(cfg.backends[0].buffering.request);
}

}  // namespace
}  // namespace sluice::config
