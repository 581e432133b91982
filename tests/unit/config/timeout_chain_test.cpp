#include "config/timeout_chain.hpp"

#include "config/loader.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>

namespace sluice::config {
namespace {

using severity = finding::severity;

server app_server(std::string name)
{
    server s;
    s.name = std::move(name);
    s.max_connections = 2;
    s.keepalive_timeout = 30s;
    s.keepalive_timeout_declared = true;
    s.worker_timeout = 30s;
    return s;
}

backend app_backend(std::string name, std::vector<server> servers)
{
    backend b;
    b.name = std::move(name);
    b.keepalive.idle_timeout = 20s;
    b.keepalive.idle_timeout_declared = true;
    b.health = health{};
    b.servers = std::move(servers);
    b.buffering.request = b.buffering.response = true;  // as loaded, with max_connections
    return b;
}

// An aligned chain: LB 60 s idle, queue 10 s + connect 3 s + server 40 s = 53 s below it, app
// workers killed at 30 s, pool 20 s under the app's 30 s keep-alive. Route 0 leads to deployer.
root clean()
{
    root c;
    c.timeouts.queue = 10s;
    c.timeouts.server = 40s;
    c.timeouts.drain = 60s;
    listener web;
    web.name = "web";
    web.routes.push_back(route{{"/deploy", "", "POST"}, "deployer", {}, {}});
    web.default_backend = "app";
    c.listeners.push_back(web);
    c.backends.push_back(app_backend("app", {app_server("app1"), app_server("app2")}));
    c.backends.push_back(app_backend("deployer", {app_server("deploy1")}));
    return c;
}

// SPEC.md's example config, with the deployer backend examples/sluice.yaml adds.
root spec_example()
{
    root c;
    c.timeouts.queue = 30s;  // SPEC.md's example values, which are not the defaults
    c.timeouts.server = 55s;
    c.timeouts.drain = 30s;
    listener web;
    web.name = "web";
    route deploy{{"/deploy", "ops.example.com", "POST"}, "deployer", {}, {}};
    deploy.timeouts.server = 10min;
    web.routes.push_back(deploy);
    web.default_backend = "app";
    c.listeners.push_back(web);
    auto app2 = app_server("app2");
    app2.max_connections = 4;
    c.backends.push_back(app_backend("app", {app_server("app1"), app2}));
    auto deploy1 = app_server("deploy1");
    deploy1.max_connections = 1;
    deploy1.worker_timeout = 10min;
    c.backends.push_back(app_backend("deployer", {deploy1}));
    c.backends[1].keepalive = {32, 24s, false};
    c.backends[1].health.reset();
    return c;
}

const finding* find(const chain_report& r, std::string_view rule)
{
    for (const auto* list : {&r.findings, &r.notes}) {
        const auto it = std::ranges::find(*list, rule, &finding::rule);
        if (it != list->end()) return &*it;
    }
    return nullptr;
}

std::vector<std::string> rules_of(const chain_report& r)
{
    std::vector<std::string> rules;
    for (const auto& f : r.findings) rules.push_back(f.rule);
    return rules;
}

route& deploy_route(root& c) { return c.listeners[0].routes[0]; }
server& app1(root& c) { return c.backends[0].servers[0]; }
void for_servers(root& c, const std::function<void(server&)>& change)
{
    for (auto& b : c.backends)
        for (auto& s : b.servers) change(s);
}

struct rule_case {
    std::string_view name;
    std::function<void(root&)> change;
    std::string_view rule;
    severity level;
    std::string_view where;
};

TEST(timeout_chain, a_clean_chain_has_no_findings_and_a_row_per_server)
{
    const auto report = analyze_timeouts(clean());
    EXPECT_EQ(rules_of(report), std::vector<std::string>{});
    ASSERT_EQ(report.rows.size(), 3u);
    EXPECT_EQ(report.rows[0].path, "web -> routes[0] -> deployer -> deploy1");
    EXPECT_EQ(report.rows[2].path, "web -> default -> app -> app2");
    EXPECT_EQ(report.rows[2].request_deadline, 53s);
    EXPECT_EQ(report.rows[2].pool_idle_timeout, 20s);
    EXPECT_EQ(report.rows[2].health_interval, 2s);
}

TEST(timeout_chain, each_rule_is_caught_with_its_severity_and_place)
{
    const auto unset_keepalive = [](server& s) {
        s.keepalive_timeout = 2s;
        s.keepalive_timeout_declared = false;
    };
    const rule_case cases[] = {
        // Seed: ELB 60 s idle in front of a hop that drops idle connections at 30 s (uWSGI).
        {"elb_60s_before_a_30s_client_idle", [](root& c) { c.timeouts.client_idle = 30s; },
         "client_idle_vs_upstream_idle", severity::error, "timeouts"},
        {"client_idle_equal_to_upstream_idle_still_races",
         [](root& c) { c.timeouts.client_idle = 60s; }, "client_idle_vs_upstream_idle",
         severity::error, "timeouts"},
        {"a_route_shortening_client_idle",
         [](root& c) { deploy_route(c).timeouts.client_idle = 30s; },
         "client_idle_vs_upstream_idle", severity::error, "listeners[0] (web) -> routes[0]"},
        // Seed: gunicorn's 2 s keep-alive behind a pool keeping connections 20 s.
        {"gunicorn_keepalive_2s_under_a_20s_pool",
         [](root& c) { for_servers(c, [](server& s) { s.keepalive_timeout = 2s; }); },
         "pool_idle_vs_server_keepalive", severity::error,
         "backends[0] (app) -> servers[0] (app1)"},
        {"a_pool_as_long_as_the_keepalive",
         [](root& c) { c.backends[1].keepalive.idle_timeout = 30s; },
         "pool_idle_vs_server_keepalive", severity::error,
         "backends[1] (deployer) -> servers[0] (deploy1)"},
        {"a_declared_pool_over_an_assumed_keepalive",
         [&](root& c) { for_servers(c, unset_keepalive); }, "pool_idle_vs_server_keepalive",
         severity::warning, "backends[0] (app) -> servers[0] (app1)"},
        {"an_assumed_keepalive_with_the_default_pool",
         [&](root& c) {
             for_servers(c, unset_keepalive);
             c.backends[0].keepalive = {32, 1600ms, false};
         },
         "keepalive_timeout_assumed", severity::note, "backends[0] (app)"},
        // Seed: ELB 60 s idle; the chain allows 63 s, but the derived deadline answers at 57 s.
        {"elb_60s_before_a_63s_chain_cut_by_the_derived_deadline",
         [](root& c) { c.timeouts.server = 50s; }, "queue_connect_server_vs_upstream_idle",
         severity::warning, "timeouts"},
        {"an_explicit_deadline_past_the_lb_lets_requests_vanish",
         [](root& c) {
             c.timeouts.server = 50s;
             c.timeouts.request = 90s;
         },
         "queue_connect_server_vs_upstream_idle", severity::error, "timeouts"},
        {"an_explicit_deadline_the_lb_never_lets_fire", [](root& c) { c.timeouts.request = 60s; },
         "request_vs_upstream_idle", severity::warning, "timeouts"},
        // Seed: the proxy gives up at 30 s while uWSGI's harakiri lets the worker run 60 s.
        {"server_30s_before_worker_timeout_60s",
         [](root& c) {
             c.timeouts.server = 30s;
             app1(c).worker_timeout = 60s;
         },
         "server_vs_worker_timeout", severity::warning, "backends[0] (app) -> servers[0] (app1)"},
        {"a_route_cutting_server_below_worker_timeout",
         [](root& c) { deploy_route(c).timeouts.server = 20s; }, "server_vs_worker_timeout",
         severity::warning,
         "listeners[0] (web) -> routes[0] -> backends[1] (deployer) -> servers[0] (deploy1)"},
        {"a_long_worker_behind_the_derived_deadline",
         [](root& c) {
             deploy_route(c).timeouts.server = 10min;
             c.backends[1].servers[0].worker_timeout = 10min;
         },
         "request_deadline_vs_worker_timeout", severity::warning,
         "listeners[0] (web) -> routes[0] -> backends[1] (deployer) -> servers[0] (deploy1)"},
        {"a_health_timeout_as_long_as_the_interval",
         [](root& c) { c.backends[0].health->timeout = 2s; }, "health_timeout_vs_interval",
         severity::warning, "backends[0] (app)"},
        {"a_header_timeout_as_long_as_client_idle", [](root& c) { c.timeouts.client_header = 75s; },
         "client_header_vs_client_idle", severity::warning, "timeouts"},
        {"no_server_limited_queues_nothing",
         [](root& c) { for_servers(c, [](server& s) { s.max_connections = 0; }); },
         "no_max_connections", severity::warning, "backends[0] (app)"},
        {"one_unlimited_server_is_named",
         [](root& c) { c.backends[0].servers[1].max_connections = 0; }, "no_max_connections",
         severity::warning, "backends[0] (app) -> servers[1] (app2)"},
        {"a_queue_timeout_of_0_leaves_the_queue_unused", [](root& c) { c.timeouts.queue = 0s; },
         "queue_timeout_zero", severity::warning, "backends[1] (deployer)"},
        {"a_drain_shorter_than_a_request", [](root& c) { c.timeouts.drain = 30s; },
         "drain_vs_request_deadline", severity::warning, "timeouts"},
    };
    for (const auto& test : cases) {
        SCOPED_TRACE(test.name);
        auto c = clean();
        test.change(c);
        const auto report = analyze_timeouts(c);
        const auto* f = find(report, test.rule);
        ASSERT_NE(f, nullptr) << "found only: " << testing::PrintToString(rules_of(report));
        EXPECT_EQ(f->level, test.level);
        EXPECT_EQ(f->where, test.where);
        EXPECT_FALSE(f->what.empty());
        const auto starts = [&](std::string_view verb) { return f->fix.rfind(verb, 0) == 0; };
        EXPECT_TRUE(starts("set ") || starts("raise ") || starts("lower ")) << f->fix;
    }
}

TEST(timeout_chain, a_route_override_triggers_a_rule_the_global_timeouts_do_not)
{
    auto c = clean();
    deploy_route(c).timeouts.server = 10min;
    const auto report = analyze_timeouts(c);
    const auto hits = std::ranges::count(report.findings, "queue_connect_server_vs_upstream_idle",
                                         &finding::rule);
    EXPECT_EQ(hits, 1);
    const auto* f = find(report, "queue_connect_server_vs_upstream_idle");
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->where, "listeners[0] (web) -> routes[0]");
    EXPECT_EQ(f->fix, "set listeners[0].routes[0].timeouts.server to 44s, or raise the load "
                      "balancer's idle timeout above 10m13s and set timeouts.upstream_idle to "
                      "match");
}

TEST(timeout_chain, fixes_name_the_exact_key_and_value)
{
    auto c = clean();
    c.timeouts.client_idle = 30s;
    for_servers(c, [](server& s) { s.keepalive_timeout = 2s; });
    const auto report = analyze_timeouts(c);
    EXPECT_EQ(find(report, "client_idle_vs_upstream_idle")->fix,
              "set timeouts.client_idle to 1m15s (above upstream_idle 1m)");
    EXPECT_EQ(find(report, "pool_idle_vs_server_keepalive")->fix,
              "set backends[0].keepalive.idle_timeout to 1.6s (80% of keepalive_timeout 2s)");
}

TEST(timeout_chain, a_worker_timeout_fix_points_where_the_value_was_written)
{
    auto c = clean();
    c.timeouts.server = 20s;
    // As the loader leaves them: an inherited value keeps the server_defaults line's mark.
    c.marks["backends[0].servers[0].worker_timeout"] = {
        "t.yaml", 9, 7, "backends[0].server_defaults.worker_timeout"};
    c.marks["backends[0].servers[1].worker_timeout"] = {"t.yaml", 12, 7,
                                                        "backends[0].servers[1].worker_timeout"};
    const auto report = analyze_timeouts(c);
    std::vector<std::string> fixes;
    for (const auto& f : report.findings)
        if (f.rule == "server_vs_worker_timeout") fixes.push_back(f.fix);
    ASSERT_EQ(fixes.size(), 3u);
    EXPECT_EQ(fixes[1], "set timeouts.server to 32s (so the app's own timeout ends the request "
                        "first), or lower backends[0].server_defaults.worker_timeout to 19s");
    EXPECT_NE(fixes[2].find("lower backends[0].servers[1].worker_timeout to 19s"),
              std::string::npos);
}

// A backend of discovery alone has no server in the file: the chain is checked for the servers
// it will find, made from server_defaults, and a fix points there.
TEST(timeout_chain, servers_found_by_dns_are_checked_through_server_defaults)
{
    auto c = clean();
    auto& app = c.backends[0];
    app.servers.clear();
    app.discovery.emplace().dns = "app.test";
    app.server_defaults = app_server("");
    app.server_defaults.worker_timeout = 60s;
    auto found = app_server("10.0.0.1:8000");  // found at run time: replaced by the stand-in
    found.discovered = true;
    app.servers.push_back(found);
    const auto report = analyze_timeouts(c);
    const auto* f = find(report, "server_vs_worker_timeout");
    ASSERT_NE(f, nullptr);
    EXPECT_NE(f->where.find("servers found by DNS"), std::string::npos) << f->where;
    EXPECT_NE(f->fix.find("backends[0].server_defaults.worker_timeout"), std::string::npos)
        << f->fix;
    EXPECT_EQ(std::ranges::count(report.rows,
                                 std::string("web -> default -> app -> servers found "
                                             "by DNS"),
                                 &hop_row::path),
              1);
}

TEST(timeout_chain, a_finding_reached_by_many_paths_is_reported_once)
{
    auto c = clean();
    c.timeouts.server = 20s;
    auto admin_listener = c.listeners[0];
    admin_listener.name = "internal";
    c.listeners.push_back(admin_listener);
    const auto report = analyze_timeouts(c);
    EXPECT_EQ(std::ranges::count(report.findings, "server_vs_worker_timeout", &finding::rule), 3);
    EXPECT_EQ(report.rows.size(), 6u);
}

TEST(timeout_chain, errors_come_before_warnings)
{
    auto c = clean();
    c.timeouts.drain = 1s;
    c.timeouts.client_idle = 30s;
    const auto report = analyze_timeouts(c);
    ASSERT_GE(report.findings.size(), 2u);
    EXPECT_EQ(report.findings.front().level, severity::error);
    EXPECT_EQ(report.findings.back().level, severity::warning);
}

TEST(timeout_chain, the_spec_example_passes_with_warnings_only)
{
    const auto report = analyze_timeouts(spec_example());
    EXPECT_TRUE(passes(report, false));
    EXPECT_EQ(rules_of(report), (std::vector<std::string>{"queue_connect_server_vs_upstream_idle",
                                                          "drain_vs_request_deadline",
                                                          "queue_connect_server_vs_upstream_idle",
                                                          "request_deadline_vs_worker_timeout"}));
    ASSERT_EQ(report.rows.size(), 3u);
    EXPECT_EQ(report.rows[0].effective.server, 10min);
    EXPECT_EQ(report.rows[0].request_deadline, 57s);
}

TEST(timeout_chain, the_default_config_passes_and_says_what_it_assumes)
{
    const auto loaded = load_string(default_config_yaml(), "<embedded default>");
    const auto report = analyze_timeouts(loaded.config);
    EXPECT_TRUE(passes(report, false));
    EXPECT_FALSE(passes(report, true));
    EXPECT_NE(find(report, "no_max_connections"), nullptr);
    const auto* assumed = find(report, "keepalive_timeout_assumed");
    ASSERT_NE(assumed, nullptr);
    EXPECT_NE(assumed->what.find("assumes 2s"), std::string::npos);
}

TEST(timeout_chain, the_derived_deadline_answers_before_the_lb_gives_up)
{
    struct deadline_case {
        duration upstream_idle, queue, server, request, expected;
    };
    const deadline_case cases[] = {
        {60s, 30s, 55s, 0s, 57s},   // SPEC.md's example: 60 s minus 5 %
        {10s, 30s, 55s, 0s, 9s},    // at least 1 s of margin
        {1s, 30s, 55s, 0s, 500ms},  // a sub-second margin would leave nothing: half
        {60s, 10s, 20s, 0s, 33s},   // the chain ends first: queue + connect + server
        {0s, 30s, 55s, 0s, 88s},    // no LB in front
        {60s, 30s, 55s, 20s, 20s},  // explicit request wins
    };
    for (const auto& test : cases) {
        timeouts t;
        t.upstream_idle = test.upstream_idle;
        t.queue = test.queue;
        t.server = test.server;
        t.request = test.request;
        EXPECT_EQ(derived_request_deadline(t), test.expected) << t.upstream_idle.count();
    }
    for (duration idle = 2ms; idle < 10min; idle = idle * 3 / 2) {
        timeouts t;
        t.upstream_idle = idle;
        EXPECT_LT(derived_request_deadline(t), idle) << idle.count();
        EXPECT_GT(derived_request_deadline(t), 0ms) << idle.count();
    }
}

TEST(timeout_chain, strict_fails_on_warnings_too)
{
    chain_report none, warning_only, with_error;
    warning_only.findings.push_back({severity::warning, "r", "w", "x.", "set y"});
    with_error = warning_only;
    with_error.findings.push_back({severity::error, "r", "w", "x.", "set y"});
    EXPECT_TRUE(passes(none, true));
    EXPECT_TRUE(passes(warning_only, false));
    EXPECT_FALSE(passes(warning_only, true));
    EXPECT_FALSE(passes(with_error, false));
}

TEST(timeout_chain, the_table_shows_each_hop_and_each_finding_with_its_fix)
{
    auto c = spec_example();
    c.timeouts.client_idle = 30s;
    const auto table = format_table(analyze_timeouts(c));
    EXPECT_NE(table.find("web -> default -> app -> app1\n"), std::string::npos) << table;
    EXPECT_NE(table.find("     1m     10s     30s     30s      3s     55s    57s*     30s     "
                         "30s     20s  2s/1s\n"),
              std::string::npos)
        << table;
    EXPECT_NE(table.find("error [client_idle_vs_upstream_idle]\n  at timeouts\n"),
              std::string::npos);
    EXPECT_NE(table.find("  fix: set timeouts.client_idle to 1m15s"), std::string::npos);
    EXPECT_NE(table.find("timeout chain: 1 error, 4 warnings\n"), std::string::npos) << table;
    for (std::size_t start = 0, end; (end = table.find('\n', start)) != std::string::npos;
         start = end + 1)
        EXPECT_LE(end - start, 100u) << table.substr(start, end - start);
}

TEST(timeout_chain, json_carries_ok_findings_and_rows_in_milliseconds)
{
    chain_report r;
    r.findings.push_back({severity::error, "rule", "a \"b\"", "x\\y.", "set z"});
    hop_row row;
    row.path = "web -> default -> app -> app1";
    row.request_deadline = 57s;
    r.rows.push_back(row);
    const auto json = format_json(r);
    EXPECT_NE(json.find("\"ok\": false"), std::string::npos) << json;
    EXPECT_NE(json.find("\"where\": \"a \\\"b\\\"\""), std::string::npos) << json;
    EXPECT_NE(json.find("\"what\": \"x\\\\y.\""), std::string::npos) << json;
    EXPECT_NE(json.find("\"upstream_idle_ms\": 60000"), std::string::npos) << json;
    EXPECT_NE(json.find("\"request_deadline_ms\": 57000"), std::string::npos) << json;
    EXPECT_NE(json.find("\"worker_timeout_ms\": null"), std::string::npos) << json;
    EXPECT_NE(format_json(chain_report{}).find("\"ok\": true"), std::string::npos);
    const auto more = format_json(chain_report{}, false, "\"discovery\": []");
    EXPECT_NE(more.find("\"rows\": [],\n  \"discovery\": []\n}\n"), std::string::npos) << more;
}

}  // namespace
}  // namespace sluice::config
