#include "config/loader.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

namespace sluice::config {
namespace {

// A valid config; error cases append to it or replace it.
constexpr std::string_view minimal = R"(listeners:
  - name: web
    bind: 127.0.0.1:8080
backends:
  - name: app
    servers:
      - { name: app1, address: 127.0.0.1:8000, max_connections: 2 }
)";

constexpr std::string_view bench_config = R"(threads: 1
listeners:
  - name: bench
    bind: 127.0.0.1:18103
    max_connections: 100000
    default_backend: origin
admin:
  bind: 127.0.0.1:18104
access_log: off
backends:
  - name: origin
    balance: roundrobin
    keepalive: { max_idle: 256, idle_timeout: 50s }
    server_defaults: { keepalive_timeout: 300s }
    servers:
      - { name: o1, address: 127.0.0.1:18001 }
      - { name: o2, address: 127.0.0.1:18002 }
)";

std::vector<std::string> errors_of(std::string_view yaml)
{
    try {
        load_string(yaml, "t.yaml");
    } catch (const config_error& e) {
        return e.errors();
    }
    return {};
}

std::string with(std::string_view extra) { return std::string(minimal) + std::string(extra); }

// Only servers differ: `servers` is the YAML list body under one backend.
std::string with_servers(std::string_view backend_keys, std::string_view servers)
{
    return "listeners:\n  - { name: web, bind: 127.0.0.1:8080 }\nbackends:\n  - name: app\n" +
           std::string(backend_keys) + "    servers:\n" + std::string(servers);
}

struct error_case {
    std::string yaml;
    std::vector<std::string> errors;
};

TEST(loader, each_error_names_file_line_column_key_path_and_the_fix)
{
    const error_case cases[] = {
        {with("colour: red\n"),
         {"t.yaml:8:1: colour: unknown key; expected one of threads, io_uring, splice, "
          "access_log, listeners, admin, timeouts, backends, scale_out"}},
        {with("scale_out: { not_processed_header: \"X Not Processed\" }\n"),
         {"t.yaml:8:36: scale_out.not_processed_header: is not a header name; use letters, "
          "digits and - (e.g. X-Sluice-Not-Processed), or \"\" to turn it off"}},
        {with("threads: many\n"),
         {"t.yaml:8:10: threads: \"many\" is not a whole number; expected a number of threads, "
          "or auto"}},
        {with("threads: 0\n"), {"t.yaml:8:10: threads: is 0; expected at least 1, or auto"}},
        {with("io_uring: on\n"), {"t.yaml:8:11: io_uring: is \"on\"; expected auto or off"}},
        {with("splice: yes\n"), {"t.yaml:8:9: splice: is \"yes\"; expected auto or off"}},
        {with("timeouts: [1s]\n"), {"t.yaml:8:11: timeouts: a list; expected a map of key: value"}},
        {with("timeouts: { queue: 5 }\n"),
         {"t.yaml:8:20: timeouts.queue: \"5\" is not a duration; expected a number with a unit: "
          "250ms, 2s, 1m, 1h (or 0)"}},
        {with("timeouts: { queue: -1s }\n"),
         {"t.yaml:8:20: timeouts.queue: \"-1s\" is not a duration; expected a number with a "
          "unit: 250ms, 2s, 1m, 1h (or 0)"}},
        {with("timeouts:\n  connect:\n"),
         {"t.yaml:9:3: timeouts.connect: no value; expected a number with a unit: 250ms, 2s, "
          "1m, 1h (or 0)"}},
        {with("access_log: ''\n"),
         {"t.yaml:8:13: access_log: is empty; expected stdout, off or a file path"}},
        {with("admin: { bind: localhost }\n"),
         {"t.yaml:8:16: admin.bind: \"localhost\" has no port; expected host:port or unix:/path"}},
        {with_servers("", "      - { name: a1, address: 127.0.0.1:8000 }\n"
                          "      - { name: a2, address: 127.0.0.1 }\n"),
         {"t.yaml:7:30: backends[0].servers[1].address: \"127.0.0.1\" has no port; expected "
          "host:port or unix:/path"}},
        {with_servers("    balance: leastcon\n", "      - { address: 127.0.0.1:8000 }\n"),
         {"t.yaml:5:14: backends[0].balance: \"leastcon\" is not allowed here; expected one of "
          "roundrobin, leastconn, random2; did you mean `leastconn`?"}},
        {with_servers("", "      - { address: 127.0.0.1:8000, max_connections: abc }\n"),
         {"t.yaml:6:53: backends[0].servers[0].max_connections: \"abc\" is not a whole number; "
          "expected a whole number like 100"}},
        {with_servers("", "      - { address: 127.0.0.1:8000, weight: 99999999999 }\n"),
         {"t.yaml:6:44: backends[0].servers[0].weight: \"99999999999\" is too large; expected at "
          "most 4294967295"}},
        {with_servers("    health: { jitter: 10 }\n", "      - { address: 127.0.0.1:8000 }\n"),
         {"t.yaml:5:23: backends[0].health.jitter: \"10\" is not a percentage; expected a whole "
          "number with %, like 10%"}},
        {with_servers("    retries: { on: [connect_failure, timeout] }\n",
                      "      - { address: 127.0.0.1:8000 }\n"),
         {"t.yaml:5:38: backends[0].retries.on[1]: \"timeout\" is not allowed here; expected one "
          "of connect_failure, empty_response"}},
        {with_servers("", "      - { name: a1 }\n"),
         {"t.yaml:6:9: backends[0].servers[0].address: missing; add e.g. `address: "
          "127.0.0.1:8000`"}},
        {with_servers("", "      address: 127.0.0.1:8000\n"),
         {"t.yaml:6:7: backends[0].servers: a map; expected a list (\"- item\" lines or [a, b])",
          "t.yaml:6:7: backends[0].servers: none; add at least one server, or a discovery block"}},
        {"listeners:\n  - name: web\n    name: api\n    bind: 127.0.0.1:8080\n" +
             std::string(minimal.substr(minimal.find("backends"))),
         {"t.yaml:3:5: listeners[0].name: set twice; keep one"}},
        {"listeners:\n  - { name: web, bind: 127.0.0.1:8080, proxy_protocol: v3 }\n" +
             std::string(minimal.substr(minimal.find("backends"))),
         {"t.yaml:2:56: listeners[0].proxy_protocol: \"v3\" is not allowed here; expected one "
          "of off, v1, v2, any; did you mean `v1`?"}},
        {"listeners:\n  - { name: web, bind: 127.0.0.1:8080, trusted_proxies: [10.0.0.1/8] }\n" +
             std::string(minimal.substr(minimal.find("backends"))),
         {"t.yaml:2:58: listeners[0].trusted_proxies[0]: \"10.0.0.1/8\" is not an address range; "
          "expected e.g. 10.0.0.0/8, 2001:db8::/32 or one address, with no bits set past the /N"}},
        {"listeners: [1, 2\nbackends: []\n",
         {"t.yaml:2:9: YAML syntax: end of sequence flow not found; check the indentation, "
          "colons and quotes"}},
        {"", {"t.yaml:1:1: the file is empty; expected listeners and backends"}},
        {"- a\n",
         {"t.yaml:1:1: a list; expected a map of key: value",
          "t.yaml:1:1: listeners: none; add at least one listener",
          "t.yaml:1:1: backends: none; add at least one backend with a server"}},
    };
    for (const auto& c : cases) EXPECT_EQ(errors_of(c.yaml), c.errors) << c.yaml;
}

TEST(loader, unknown_key_suggests_the_closest_one)
{
    const std::pair<std::string_view, std::string_view> cases[] = {
        {"acces_log: off\n", "t.yaml:8:1: acces_log: unknown key; did you mean `access_log`?"},
        {"timeouts: { conect: 1s }\n",
         "t.yaml:8:13: timeouts.conect: unknown key; did you mean `connect`?"},
        {"admin: { bnd: 127.0.0.1:9091 }\n",
         "t.yaml:8:10: admin.bnd: unknown key; did you mean `bind`?"},
    };
    for (const auto& [extra, message] : cases) {
        EXPECT_EQ(errors_of(with(extra)), std::vector<std::string>{std::string(message)});
    }
}

TEST(loader, collects_every_error_before_throwing)
{
    const auto errors = errors_of(with("threads: x\ntimeouts: { queue: 5, conect: 1s }\n"));
    ASSERT_EQ(errors.size(), 3u);
    EXPECT_TRUE(errors[0].starts_with("t.yaml:8:10: threads:"));
    EXPECT_TRUE(errors[1].starts_with("t.yaml:9:20: timeouts.queue:"));
    EXPECT_TRUE(errors[2].starts_with("t.yaml:9:23: timeouts.conect:"));
}

TEST(loader, config_error_what_lists_every_error)
{
    try {
        load_string("- a\n", "t.yaml");
        FAIL() << "no error";
    } catch (const config_error& e) {
        EXPECT_EQ(std::count(e.what(), e.what() + std::strlen(e.what()), '\n'), 2);
    }
}

TEST(loader, bench_config_loads_with_its_values)
{
    const auto result = load_string(bench_config, "bench.yaml");
    const auto& c = result.config;
    EXPECT_EQ(c.threads, 1u);
    EXPECT_EQ(c.access_log.type, access_log::kind::off);
    ASSERT_EQ(c.listeners.size(), 1u);
    EXPECT_EQ(c.listeners[0].bind.port, 18103);
    EXPECT_EQ(c.listeners[0].max_connections, 100000u);
    EXPECT_EQ(c.listeners[0].default_backend, "origin");
    EXPECT_EQ(c.admin.bind.port, 18104);
    ASSERT_EQ(c.backends.size(), 1u);
    const auto& b = c.backends[0];
    EXPECT_EQ(b.balance, balance::roundrobin);
    EXPECT_EQ(b.keepalive.max_idle, 256u);
    EXPECT_EQ(b.keepalive.idle_timeout, 50s);
    EXPECT_TRUE(b.keepalive.idle_timeout_declared);
    ASSERT_EQ(b.servers.size(), 2u);
    for (const auto& s : b.servers) {
        EXPECT_EQ(s.keepalive_timeout, 300s);
        EXPECT_TRUE(s.keepalive_timeout_declared);
        EXPECT_EQ(s.max_connections, 0u);
    }
    EXPECT_EQ(b.servers[1].name, "o2");
    EXPECT_EQ(b.servers[1].address.host, "127.0.0.1");
    EXPECT_EQ(b.servers[1].address.port, 18002);
    // No max_connections is the timeout chain's finding (no_max_connections), not the loader's.
    EXPECT_TRUE(result.warnings.empty());
}

// examples/sluice.yaml is SPEC.md's example plus the `deployer` backend its route names.
TEST(loader, spec_example_loads_with_every_key_resolved)
{
    const auto repo = std::filesystem::path(__FILE__).parent_path() / "../../..";
    const auto c = load_file((repo / "examples/sluice.yaml").string()).config;
    EXPECT_EQ(c.threads, 0u);  // auto
    const auto& web = c.listeners.at(0);
    EXPECT_EQ(web.bind.host, "0.0.0.0");
    EXPECT_EQ(web.limits.max_header, 64u * 1024);
    EXPECT_EQ(web.limits.max_body, 100u << 20);
    EXPECT_EQ(web.routes.at(0).match.method, "POST");
    EXPECT_EQ(web.routes.at(0).timeouts.server, 10min);
    EXPECT_EQ(c.admin.busy_hold, 1s);
    EXPECT_EQ(c.timeouts.upstream_idle, 60s);
    EXPECT_EQ(c.timeouts.tunnel, 1h);
    EXPECT_EQ(c.timeouts.client_body, 60s);
    EXPECT_EQ(c.timeouts.client_send, 60s);
    const auto& app = c.backends.at(0);
    EXPECT_TRUE(app.buffering.request && app.buffering.response);
    EXPECT_EQ(app.buffering.max_spool, 1ull << 30);
    EXPECT_EQ(app.queue_max_length, 1000u);
    EXPECT_TRUE(app.retries.on_connect_failure && app.retries.on_empty_response);
    EXPECT_EQ(app.keepalive.idle_timeout, 20s);
    EXPECT_EQ(app.servers.at(0).max_connections, 2u);
    EXPECT_EQ(app.servers.at(0).worker_timeout, 30s);
    EXPECT_EQ(app.servers.at(1).address.type, endpoint::kind::unix_socket);
    EXPECT_EQ(app.servers.at(1).max_connections, 4u);
    EXPECT_EQ(app.servers.at(1).agent_port, 9998);
    ASSERT_TRUE(app.health && app.health->http);
    EXPECT_EQ(app.health->http->host, "app.local");
    EXPECT_EQ(app.health->http->busy_status, std::vector<unsigned>{503});
    EXPECT_EQ(app.health->agent_port, 9999);
    EXPECT_EQ(app.health->jitter_percent, 10u);
    EXPECT_EQ(app.health->fall, 3u);
    EXPECT_EQ(app.passive.max_ejected_percent, 50u);
    EXPECT_EQ(app.slow_start, 10s);
    EXPECT_EQ(app.deadline_header, "X-Request-Timeout-Ms");
    EXPECT_EQ(c.backends.at(1).keepalive.idle_timeout, 24s);  // 80 % of its servers' 30s
}

TEST(loader, undeclared_pool_idle_timeout_is_80_percent_of_the_shortest_server_keepalive)
{
    const auto declared = load_string(with_servers("", "      - { address: 127.0.0.1:8000, "
                                                       "keepalive_timeout: 10s }\n"
                                                       "      - { address: 127.0.0.1:8001, "
                                                       "keepalive_timeout: 5s }\n"),
                                      "t.yaml");
    EXPECT_EQ(declared.config.backends[0].keepalive.idle_timeout, 4s);
    EXPECT_FALSE(declared.config.backends[0].keepalive.idle_timeout_declared);

    const auto assumed = load_string(minimal, "t.yaml");
    const auto& s = assumed.config.backends[0].servers[0];
    EXPECT_EQ(s.keepalive_timeout, 2s);  // gunicorn's default
    EXPECT_FALSE(s.keepalive_timeout_declared);
    EXPECT_EQ(assumed.config.backends[0].keepalive.idle_timeout, 1600ms);
}

TEST(loader, buffering_is_on_by_default_only_where_a_server_has_a_worker_count)
{
    const auto workers = load_string(minimal, "t.yaml").config.backends[0].buffering;
    EXPECT_TRUE(workers.request);
    EXPECT_TRUE(workers.response);
    EXPECT_EQ(workers.memory, 1024u * 1024);

    const auto unlimited = load_string(with_servers("", "      - { address: 127.0.0.1:8000 }\n"),
                                       "t.yaml");
    EXPECT_FALSE(unlimited.config.backends[0].buffering.request);
    EXPECT_FALSE(unlimited.config.backends[0].buffering.response);

    const auto declared = load_string(
        with_servers("    buffering: { response: off, memory: 64k, max_spool: 10m }\n",
                     "      - { address: 127.0.0.1:8000, max_connections: 2 }\n"),
        "t.yaml");
    const auto& b = declared.config.backends[0].buffering;
    EXPECT_TRUE(b.request);
    EXPECT_FALSE(b.response);
    EXPECT_EQ(b.memory, 64u * 1024);
    EXPECT_EQ(b.max_spool, 10u * 1024 * 1024);
    EXPECT_EQ(errors_of(with_servers("    buffering: { request: maybe }\n",
                                     "      - { address: 127.0.0.1:8000 }\n"))
                  .size(),
              1u);
}

TEST(loader, a_server_key_wins_over_server_defaults)
{
    const auto result = load_string(
        with_servers("    server_defaults: { max_connections: 2, weight: 3, worker_timeout: 1m }\n",
                     "      - { address: 127.0.0.1:8000 }\n"
                     "      - { address: 127.0.0.1:8001, max_connections: 8 }\n"),
        "t.yaml");
    const auto& servers = result.config.backends[0].servers;
    EXPECT_EQ(servers[0].max_connections, 2u);
    EXPECT_EQ(servers[1].max_connections, 8u);
    EXPECT_EQ(servers[1].weight, 3u);
    EXPECT_EQ(servers[1].worker_timeout, 1min);
    EXPECT_EQ(servers[0].name, "127.0.0.1:8000");  // no name: the address
    EXPECT_EQ(result.config.marks.at("backends[0].servers[0].max_connections").path,
              "backends[0].server_defaults.max_connections");
}

TEST(loader, a_listener_without_routes_uses_the_only_backend)
{
    EXPECT_EQ(load_string(minimal, "t.yaml").config.listeners[0].default_backend, "app");
    const auto two = with("  - name: api\n    servers: [{ address: 127.0.0.1:8001 }]\n");
    EXPECT_EQ(errors_of(two),
              std::vector<std::string>{"t.yaml:2:5: listeners[0].default_backend: missing; with "
                                       "several backends, name the one that serves requests no "
                                       "route matches"});
}

TEST(loader, defer_accept_is_on_unless_a_listener_turns_it_off)
{
    EXPECT_TRUE(load_string(minimal, "t.yaml").config.listeners[0].defer_accept);
    const auto off = "listeners:\n  - { name: web, bind: 127.0.0.1:8080, defer_accept: false }\n" +
                     std::string(minimal.substr(minimal.find("backends")));
    EXPECT_FALSE(load_string(off, "t.yaml").config.listeners[0].defer_accept);
    const auto bad = "listeners:\n  - { name: web, bind: 127.0.0.1:8080, defer_accept: soon }\n" +
                     std::string(minimal.substr(minimal.find("backends")));
    const auto errors = errors_of(bad);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_NE(errors[0].find("t.yaml:2:54: listeners[0].defer_accept: \"soon\""), std::string::npos)
        << errors[0];
}

TEST(loader, io_uring_is_asked_for_unless_it_is_off)
{
    EXPECT_TRUE(load_string(minimal, "t.yaml").config.io_uring);
    EXPECT_TRUE(load_string(with("io_uring: auto\n"), "t.yaml").config.io_uring);
    EXPECT_FALSE(load_string(with("io_uring: off\n"), "t.yaml").config.io_uring);
}

TEST(loader, splice_is_asked_for_unless_it_is_off)
{
    EXPECT_TRUE(load_string(minimal, "t.yaml").config.splice);
    EXPECT_TRUE(load_string(with("splice: auto\n"), "t.yaml").config.splice);
    EXPECT_FALSE(load_string(with("splice: off\n"), "t.yaml").config.splice);
}

// Every feature key is in effect: none earns an "accepted, not in effect" style warning.
TEST(loader, keys_of_every_feature_load_without_warnings)
{
    const std::string_view cases[] = {
        "    passive: { ejection: 30s }\n",
        "    health: { interval: 2s, http: { path: /ping } }\n",
        "    health: { agent: { port: 9999 } }\n",
        "    slow_start: 10s\n",
        "    protocol: uwsgi\n",
        "    retries: { attempts: 2, on: [connect_failure] }\n",
        "    deadline_header: X-Budget\n",
    };
    for (auto keys : cases) {
        const auto loaded = load_string(
            with_servers(keys, "      - { address: 127.0.0.1:8000, max_connections: 1 }\n"),
            "t.yaml");
        EXPECT_TRUE(loaded.warnings.empty()) << keys << loaded.warnings.front();
    }
}

TEST(loader, settings_that_change_nothing_earn_no_warning)
{
    const std::string_view cases[] = {"timeouts: { request: 0s }\n", "timeouts: { request: 30s }\n",
                                      "admin: { busy_hold: 2s }\n", "threads: auto\n"};
    for (auto extra : cases)
        EXPECT_TRUE(load_string(with(extra), "t.yaml").warnings.empty()) << extra;
}

TEST(loader, routes_keep_their_match_and_only_the_timeouts_they_name)
{
    const auto result = load_string(
        R"(listeners:
  - name: web
    bind: 0.0.0.0:8080
    routes:
      - match: { path_prefix: /deploy, host: Ops.Example.com, method: post }
        backend: app
        timeouts: { server: 10m }
backends:
  - { name: app, servers: [{ address: "unix:/run/app.sock", max_connections: 1 }] }
)",
        "t.yaml");
    const auto& r = result.config.listeners[0].routes.at(0);
    EXPECT_EQ(r.match.path_prefix, "/deploy");
    EXPECT_EQ(r.match.host, "ops.example.com");
    EXPECT_EQ(r.match.method, "POST");
    EXPECT_EQ(r.mark.line, 5);
    EXPECT_EQ(r.mark.column, 9);
    EXPECT_EQ(r.mark.path, "listeners[0].routes[0]");
    EXPECT_EQ(r.timeouts.server, 10min);
    EXPECT_EQ(r.timeouts.queue, std::nullopt);
    EXPECT_EQ(apply(result.config.timeouts, r.timeouts).server, 10min);
    EXPECT_EQ(apply(result.config.timeouts, r.timeouts).queue, 10s);
    EXPECT_EQ(result.config.listeners[0].default_backend, "");  // routes given: no inference
}

TEST(loader, load_file_reads_a_file_and_names_it_in_messages)
{
    const auto dir = std::filesystem::path(::testing::TempDir()) / "sluice_loader_test";
    std::filesystem::create_directories(dir);
    const auto good = (dir / "good.yaml").string(), bad = (dir / "bad.yaml").string();
    std::ofstream(good) << minimal;
    std::ofstream(bad) << "threads: x\n";
    EXPECT_EQ(load_file(good).config.source, good);
    try {
        load_file(bad);
        FAIL() << "no error";
    } catch (const config_error& e) {
        EXPECT_TRUE(e.errors().at(0).starts_with(bad + ":1:10: threads: ")) << e.what();
    }
    const auto missing = (dir / "missing.yaml").string();
    EXPECT_THROW(load_file(missing), config_error);
    std::filesystem::remove_all(dir);
}

TEST(loader, embedded_default_serves_gunicorns_default_address)
{
    const auto result = load_string(default_config_yaml(), "<embedded default>");
    const auto& c = result.config;
    EXPECT_EQ(c.listeners.at(0).bind.text, "127.0.0.1:8080");
    EXPECT_EQ(c.admin.bind.text, "127.0.0.1:9090");
    EXPECT_EQ(c.access_log.type, access_log::kind::stdout_stream);
    EXPECT_EQ(c.backends.at(0).balance, balance::leastconn);
    EXPECT_EQ(c.backends.at(0).servers.at(0).name, "app1");
    EXPECT_EQ(c.backends.at(0).servers.at(0).address.text, "127.0.0.1:8000");
    EXPECT_TRUE(result.warnings.empty());
}

}  // namespace
}  // namespace sluice::config
