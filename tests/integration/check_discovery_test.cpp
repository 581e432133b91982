// `sluice check` and backends[].discovery (issue 17): check resolves each name once, with the
// config's resolvers, and shows the servers `run` would start with or why there are none. A
// failure is a warning (SPEC.md "Servers found by DNS": failing at start-up is not fatal), so it
// fails only --strict; --offline asks no resolver at all.

#include "support/json_value.hpp"
#include "support/proxy_config.hpp"
#include "support/sluice_process.hpp"
#include "support/test_dns_server.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

constexpr auto npos = std::string::npos;

// Whether `text` holds `part`; a failure shows both.
::testing::AssertionResult contains(const std::string& text, const std::string& part)
{
    if (text.find(part) != npos) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "no \"" << part << "\" in:\n" << text;
}

class check_discovery : public ::testing::Test {
protected:
    // A config whose backend `app` has no static server, only `discovery: { KEYS, ... }` asking
    // the test's DNS server.
    std::string config_with(const std::string& keys)
    {
        proxy_config cfg;
        cfg.backend("app", {},
                    {"discovery: { " + keys + ", resolvers: [" + dns.address() +
                         "], timeout: 500ms }",
                     "server_defaults: { max_connections: 4 }"});
        return dir.write_config("sluice.yaml", cfg.yaml());
    }

    test_dns_server dns;
    temp_dir dir;
};

TEST_F(check_discovery, lists_the_servers_a_name_resolves_to)
{
    dns.set_a("app.test", {"127.0.0.3", "127.0.0.2"});
    const auto r = run_sluice({"check", "-c", config_with("dns: app.test, port: 8000")});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_TRUE(contains(r.out, "app  dns app.test port 8000: 2 servers\n"
                                "    127.0.0.2:8000  weight 1\n"
                                "    127.0.0.3:8000  weight 1\n"));
    EXPECT_EQ(r.err.find("found no server"), npos) << r.err;
    EXPECT_GT(dns.queries(), 0u);
}

// The servers are membership's: the lowest SRV priority only, weights scaled to 1-256, at most
// max_servers (the others counted).
TEST_F(check_discovery, srv_shows_weights_priority_and_max_servers_as_run_would_use_them)
{
    dns.set_srv("_http._tcp.app.test", {{10, 60, 8001, "a.app.test"},
                                        {10, 20, 8002, "b.app.test"},
                                        {20, 5, 8003, "c.app.test"}});
    dns.set_a("a.app.test", {"127.0.0.2"});
    dns.set_a("b.app.test", {"127.0.0.3"});
    dns.set_a("c.app.test", {"127.0.0.4"});
    auto r = run_sluice({"check", "-c", config_with("srv: _http._tcp.app.test")});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_TRUE(contains(r.out, "app  srv _http._tcp.app.test: 2 servers\n"
                                "    127.0.0.2:8001  weight 256\n"
                                "    127.0.0.3:8002  weight 86\n"));
    EXPECT_EQ(r.out.find("127.0.0.4"), npos) << "a higher priority is a fallback\n" << r.out;

    r = run_sluice({"check", "-c", config_with("srv: _http._tcp.app.test, max_servers: 1")});
    EXPECT_TRUE(contains(r.out, "1 server, 1 more left out by max_servers"));
}

const json* discovery_of(const std::optional<json>& doc)
{
    if (!doc) return nullptr;
    const auto* list = doc->get("discovery");
    if (!list || list->items.size() != 1) return nullptr;
    return &list->items.front();
}

TEST_F(check_discovery, json_has_a_discovery_member_with_the_servers_found)
{
    dns.set_a("app.test", {"127.0.0.2", "127.0.0.3"});
    const auto r = run_sluice(
        {"check", "--format", "json", "-c", config_with("dns: app.test, port: 8000")});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    const auto doc = parse_json(r.out);
    const auto* found = discovery_of(doc);
    ASSERT_TRUE(found) << r.out;
    EXPECT_EQ(found->get("backend")->text, "app");
    EXPECT_EQ(found->get("resolved")->text, "true");
    EXPECT_EQ(found->get("failure")->type, json::kind::null);
    std::vector<std::string> names;
    for (const auto& s : found->get("servers")->items) {
        names.push_back(s.get("name")->text);
        EXPECT_EQ(s.get("weight")->number, 1);
    }
    EXPECT_EQ(names, (std::vector<std::string>{"127.0.0.2:8000", "127.0.0.3:8000"})) << r.out;
}

TEST_F(check_discovery, offline_asks_no_resolver)
{
    dns.set_a("app.test", {"127.0.0.2"});
    const auto path = config_with("dns: app.test, port: 8000");
    const auto text = run_sluice({"check", "--offline", "-c", path});
    EXPECT_EQ(text.exit_code, 0) << text.out << text.err;
    EXPECT_TRUE(contains(text.out, "discovery  not resolved (--offline)"));
    EXPECT_EQ(text.out.find("127.0.0.2"), npos) << text.out;
    const auto json_run = run_sluice({"check", "--offline", "--format", "json", "-c", path});
    EXPECT_EQ(json_run.exit_code, 0) << json_run.out << json_run.err;
    const auto doc = parse_json(json_run.out);
    const auto* found = discovery_of(doc);
    ASSERT_TRUE(found) << json_run.out;
    EXPECT_EQ(found->get("resolved")->text, "false");
    EXPECT_TRUE(found->get("servers")->items.empty());
    EXPECT_EQ(dns.queries(), 0u);
}

struct failure_case {
    const char* reason;
    test_dns_server::mode mode;
    bool known_name;  // false: no record at all (NXDOMAIN); true: only an SRV record (empty)
};

void PrintTo(const failure_case& c, std::ostream* out) { *out << c.reason; }

class check_discovery_failure : public check_discovery,
                                public ::testing::WithParamInterface<failure_case> {};

// Exit 0 with the reason in the listing and a warning that says where, what run does and what to
// check; --strict fails on it as on any warning.
TEST_P(check_discovery_failure, is_a_warning_with_its_reason_and_fails_only_strict)
{
    const auto& c = GetParam();
    const std::string reason = c.reason;
    dns.set_mode(c.mode);
    if (c.known_name) dns.set_srv("app.test", {{0, 0, 80, "x.test"}});
    const auto path = config_with("dns: app.test, port: 8000");
    const auto r = run_sluice({"check", "-c", path});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_TRUE(contains(r.out, "app  dns app.test port 8000: no server (" + reason + ")"));
    EXPECT_TRUE(contains(r.err, "warning: " + path));
    EXPECT_TRUE(contains(r.err, "backends[0].discovery: dns app.test port 8000 found no server: " +
                                    reason));
    EXPECT_TRUE(contains(r.err, "`sluice run` would start anyway"));
    EXPECT_TRUE(contains(r.out, "config OK"));
    EXPECT_EQ(run_sluice({"check", "--strict", "-c", path}).exit_code, 1);

    const auto json_run = run_sluice({"check", "--format", "json", "-c", path});
    EXPECT_EQ(json_run.exit_code, 0) << json_run.out << json_run.err;
    const auto doc = parse_json(json_run.out);
    const auto* found = discovery_of(doc);
    ASSERT_TRUE(found) << json_run.out;
    EXPECT_EQ(found->get("failure")->text, reason);
    const auto& findings = doc->get("findings")->items;
    EXPECT_TRUE(std::ranges::any_of(findings, [](const json& f) {
        return f.get("rule")->text == "discovery" && f.get("severity")->text == "warning";
    })) << json_run.out;
    EXPECT_EQ(doc->get("ok")->text, "true");
}

INSTANTIATE_TEST_SUITE_P(
    check_discovery, check_discovery_failure,
    ::testing::Values(failure_case{"nxdomain", test_dns_server::mode::answer, false},
                      failure_case{"empty", test_dns_server::mode::answer, true},
                      failure_case{"servfail", test_dns_server::mode::servfail, true},
                      failure_case{"timeout", test_dns_server::mode::silent, true}),
    [](const auto& info) { return std::string(info.param.reason); });

}  // namespace
}  // namespace sluice::test
