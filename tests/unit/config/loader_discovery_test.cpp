// The keys of SPEC.md "Servers found by DNS" and scale_out.peers as the loader reads them
// (config/loader_discovery) and the validator judges them (config/validator_discovery).

#include "config/loader.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace sluice::config {
namespace {

// One listener and one backend `app` whose lines (indented 4) follow its name.
std::string with_backend(const std::string& backend_lines)
{
    return "listeners:\n  - { name: web, bind: 127.0.0.1:8080 }\nbackends:\n  - name: app\n" +
           backend_lines;
}

std::vector<std::string> errors_of(const std::string& yaml)
{
    try {
        load_string(yaml, "t.yaml");
    } catch (const config_error& e) {
        return e.errors();
    }
    return {};
}

bool has_error_containing(const std::vector<std::string>& errors, std::string_view text)
{
    return std::ranges::any_of(errors, [&](const std::string& e) {
        return e.find(text) != std::string::npos;
    });
}

TEST(loader_discovery, every_key_is_read)
{
    const auto c = load_string(with_backend("    discovery:\n"
                                            "      dns: app.prod.svc.cluster.local\n"
                                            "      port: 8000\n"
                                            "      interval: 3s\n"
                                            "      resolvers: [10.96.0.10:53, \"[fd00::a]:5353\"]\n"
                                            "      timeout: 1500ms\n"
                                            "      max_servers: 16\n"
                                            "    server_defaults: { max_connections: 4, "
                                            "keepalive_timeout: 5s }\n"),
                               "t.yaml")
                       .config;
    const auto& b = c.backends.at(0);
    ASSERT_TRUE(b.discovery);
    const auto& d = *b.discovery;
    EXPECT_EQ(d.dns, "app.prod.svc.cluster.local");
    EXPECT_EQ(d.port, 8000);
    EXPECT_EQ(d.srv, "");
    EXPECT_EQ(d.interval, 3s);
    EXPECT_EQ(d.timeout, 1500ms);
    EXPECT_EQ(d.max_servers, 16u);
    ASSERT_EQ(d.resolvers.size(), 2u);
    EXPECT_EQ(d.resolvers[0].host, "10.96.0.10");
    EXPECT_EQ(d.resolvers[0].port, 53);
    EXPECT_EQ(d.resolvers[1].host, "fd00::a");
    EXPECT_EQ(d.resolvers[1].port, 5353);
    EXPECT_EQ(d.mark.line, 6);
    EXPECT_TRUE(b.servers.empty());
    EXPECT_EQ(b.server_defaults.max_connections, 4u);
    EXPECT_EQ(b.server_defaults.keepalive_timeout, 5s);
    EXPECT_TRUE(b.server_defaults.keepalive_timeout_declared);
    // Derived from the defaults the discovered servers get: 80 % of 5 s, and buffering on.
    EXPECT_EQ(b.keepalive.idle_timeout, 4s);
    EXPECT_TRUE(b.buffering.request);
    EXPECT_TRUE(b.buffering.response);
}

TEST(loader_discovery, defaults_are_those_of_the_spec)
{
    const auto c = load_string(with_backend("    discovery: { srv: _http._tcp.app.internal }\n"),
                               "t.yaml")
                       .config;
    const auto& d = *c.backends.at(0).discovery;
    EXPECT_EQ(d.srv, "_http._tcp.app.internal");
    EXPECT_EQ(d.port, 0);
    EXPECT_EQ(d.interval, 5s);
    EXPECT_EQ(d.timeout, 2s);
    EXPECT_EQ(d.max_servers, 256u);
    EXPECT_TRUE(d.resolvers.empty());
}

TEST(loader_discovery, a_backend_without_discovery_has_none)
{
    const auto c =
        load_string(with_backend("    servers: [{ address: 127.0.0.1:8000 }]\n"), "t.yaml").config;
    EXPECT_FALSE(c.backends.at(0).discovery);
    EXPECT_FALSE(c.scale_out.peers);
}

TEST(loader_discovery, static_servers_may_be_listed_as_well)
{
    const auto c = load_string(with_backend(
                                   "    discovery: { dns: app.internal, port: 8000 }\n"
                                   "    servers: [{ name: a1, address: 127.0.0.1:8001 }]\n"),
                               "t.yaml")
                       .config;
    EXPECT_EQ(c.backends.at(0).servers.size(), 1u);
    EXPECT_TRUE(c.backends.at(0).discovery);
}

TEST(loader_discovery, a_resolver_without_a_port_is_on_53)
{
    const auto c = load_string(with_backend("    discovery:\n"
                                            "      dns: app.internal\n"
                                            "      port: 8000\n"
                                            "      resolvers: [10.0.0.2, \"fd00::2\"]\n"),
                               "t.yaml")
                       .config;
    const auto& r = c.backends.at(0).discovery->resolvers;
    ASSERT_EQ(r.size(), 2u);
    EXPECT_EQ(r[0].port, 53);
    EXPECT_EQ(r[1].host, "fd00::2");
    EXPECT_EQ(r[1].port, 53);
}

struct bad_case {
    std::string_view rule;
    std::string discovery_lines;  // indented 6, under `discovery:`
    std::string expected;         // part of one error
    friend void PrintTo(const bad_case& c, std::ostream* os) { *os << c.rule; }
};

class discovery_errors : public ::testing::TestWithParam<bad_case> {};

TEST_P(discovery_errors, name_the_file_line_and_key)
{
    const auto& c = GetParam();
    const auto errors = errors_of(with_backend("    discovery:\n" + c.discovery_lines));
    EXPECT_TRUE(has_error_containing(errors, c.expected))
        << c.rule << ": got " << ::testing::PrintToString(errors);
}

INSTANTIATE_TEST_SUITE_P(
    rules, discovery_errors,
    ::testing::Values(
        bad_case{"dns and srv", "      dns: a.internal\n      port: 80\n      srv: _h._tcp.a\n",
                 "t.yaml:8:12: backends[0].discovery.srv: is set with dns; use dns"},
        bad_case{"neither", "      port: 80\n",
                 "t.yaml:6:7: backends[0].discovery.dns: missing; add `dns:"},
        bad_case{"dns without port", "      dns: a.internal\n",
                 "backends[0].discovery.port: missing or 0; dns needs the port"},
        bad_case{"srv with port", "      srv: _h._tcp.a.internal\n      port: 80\n",
                 "t.yaml:7:13: backends[0].discovery.port: is set with srv"},
        bad_case{"bad name", "      dns: a..internal\n      port: 80\n",
                 "t.yaml:6:12: backends[0].discovery.dns: \"a..internal\" has an empty label"},
        bad_case{"bad character", "      dns: a/b\n      port: 80\n",
                 "backends[0].discovery.dns: \"a/b\" has '/', which a DNS name cannot hold"},
        bad_case{"interval under 1s",
                 "      dns: a.internal\n      port: 80\n      interval: "
                 "500ms\n",
                 "t.yaml:8:17: backends[0].discovery.interval: is under 1s"},
        bad_case{"timeout 0", "      dns: a.internal\n      port: 80\n      timeout: 0\n",
                 "t.yaml:8:16: backends[0].discovery.timeout: is 0"},
        bad_case{"max_servers 0", "      dns: a.internal\n      port: 80\n      max_servers: 0\n",
                 "t.yaml:8:20: backends[0].discovery.max_servers: 0 is out of range"},
        bad_case{"max_servers large",
                 "      dns: a.internal\n      port: 80\n      max_servers: 5000\n",
                 "backends[0].discovery.max_servers: 5000 is out of range; expected 1-1024"},
        bad_case{"resolver by name",
                 "      dns: a.internal\n      port: 80\n      resolvers: [ns.internal:53]\n",
                 "t.yaml:8:19: backends[0].discovery.resolvers[0]: \"ns.internal:53\" is not an "
                 "IP address"},
        bad_case{"resolver port 0",
                 "      dns: a.internal\n      port: 80\n      resolvers: 10.0.0.2:0\n",
                 "backends[0].discovery.resolvers: \"10.0.0.2:0\" has port 0"},
        bad_case{"unknown key", "      dns: a.internal\n      port: 80\n      intervall: 5s\n",
                 "backends[0].discovery.intervall: unknown key; did you mean `interval`?"}),
    [](const auto& info) {
        std::string name(info.param.rule);
        std::ranges::replace_if(
            name, [](char c) { return !std::isalnum(c); }, '_');
        return name;
    });

TEST(loader_discovery, a_backend_with_neither_servers_nor_discovery_is_refused)
{
    const auto errors = errors_of(with_backend("    balance: leastconn\n"));
    EXPECT_TRUE(has_error_containing(
        errors, "backends[0].servers: none; add at least one server, or a discovery block"));
}

TEST(loader_discovery, peers_are_read)
{
    const auto c = load_string(with_backend("    servers: [{ address: 127.0.0.1:8000 }]\n"
                                            "scale_out:\n"
                                            "  peers: { dns: sluice-edge.prod.svc.cluster.local, "
                                            "interval: 10s, resolvers: [10.96.0.10:53] }\n"),
                               "t.yaml")
                       .config;
    ASSERT_TRUE(c.scale_out.peers);
    EXPECT_EQ(c.scale_out.peers->dns, "sluice-edge.prod.svc.cluster.local");
    EXPECT_EQ(c.scale_out.peers->interval, 10s);
    ASSERT_EQ(c.scale_out.peers->resolvers.size(), 1u);
    EXPECT_EQ(c.scale_out.peers->resolvers[0].host, "10.96.0.10");
    EXPECT_EQ(c.scale_out.not_processed_header, "X-Sluice-Not-Processed");
}

TEST(loader_discovery, peers_need_a_name_and_an_interval_of_a_second_or_more)
{
    const auto errors = errors_of(with_backend("    servers: [{ address: 127.0.0.1:8000 }]\n"
                                               "scale_out:\n"
                                               "  peers: { interval: 200ms }\n"));
    EXPECT_TRUE(has_error_containing(errors, "scale_out.peers.dns: missing"));
    EXPECT_TRUE(has_error_containing(errors, "scale_out.peers.interval: is under 1s"));
}

}  // namespace
}  // namespace sluice::config
