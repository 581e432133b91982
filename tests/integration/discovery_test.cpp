// Servers found by DNS (SPEC.md "Servers found by DNS"): a DNS server of the test's own on
// 127.0.0.1 names the app servers, which listen on 127.0.0.2, .3, ... on one port. Servers come
// and go under traffic with no failed request, a failed resolution keeps the last set, SRV
// records carry ports and weights, and a name that fails at start-up is not fatal.

#include "integration/polling.hpp"
#include "integration/traffic.hpp"
#include "support/http_client.hpp"
#include "support/proxy_config.hpp"
#include "support/scripted_backend.hpp"
#include "support/sluice_process.hpp"
#include "support/test_dns_server.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <string>
#include <thread>
#include <vector>

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

const std::string servers_gauge = R"(sluice_discovery_servers{backend="app"})";

class discovery : public ::testing::Test {
protected:
    // Three app servers on one port, each on its own loopback address.
    discovery()
        : a{{.name = "a", .host = "127.0.0.2"}}, b{{.name = "b",
                                                    .host = "127.0.0.3",
                                                    .port = a.port()}},
          slow{{.reply_after = 1500ms, .name = "slow", .host = "127.0.0.4", .port = a.port()}}
    {
    }

    proxy_config config(const std::string& interval = "1s") const
    {
        proxy_config cfg;
        cfg.backend("app", {},
                    {"discovery: { dns: app.test, port: " + std::to_string(a.port()) +
                         ", interval: " + interval + ", timeout: 500ms, resolvers: [" +
                         dns.address() + "] }",
                     "server_defaults: { max_connections: 4 }"});
        return cfg;
    }

    test_dns_server dns;
    scripted_backend a, b, slow;
};

TEST_F(discovery, servers_come_and_go_under_traffic_without_a_failed_request)
{
    dns.set_a("app.test", {"127.0.0.2"}, 1);
    sluice_process proxy{config()};
    ASSERT_EQ(proxy.wait_metric(servers_gauge, 1), 1);
    traffic load{proxy.port(), 1};

    dns.set_a("app.test", {"127.0.0.2", "127.0.0.3"}, 1);
    EXPECT_EQ(proxy.wait_metric(servers_gauge, 2), 2);
    EXPECT_TRUE(eventually([&] { return b.request_count() > 0; })) << "b never got a request";
    const auto status = http_get(proxy.admin_port(), "/status").body;
    EXPECT_NE(status.find(R"("name":"127.0.0.3:)" + std::to_string(a.port()) + R"(")"),
              std::string::npos)
        << status;
    EXPECT_NE(status.find(R"("source":"dns")"), std::string::npos) << status;

    dns.set_a("app.test", {"127.0.0.3"}, 1);
    EXPECT_EQ(proxy.wait_metric(servers_gauge, 1), 1);
    EXPECT_TRUE(proxy.wait_stderr("no longer names 127.0.0.2:"));
    // Requests already routed to a may still arrive for a moment; after that, none.
    std::this_thread::sleep_for(300ms);
    const auto a_requests = a.request_count();
    const auto sent = load.answered();
    EXPECT_TRUE(eventually([&] { return load.answered() > sent + 20; }));
    EXPECT_EQ(a.request_count(), a_requests) << "a took requests after it left the answer";

    load.stop();
    EXPECT_GT(load.answered(), 20u);
    EXPECT_EQ(load.failures(), std::vector<std::string>{});
}

// A server that leaves the answer finishes what it has: its slow request completes.
TEST_F(discovery, a_request_in_flight_on_a_vanished_server_completes)
{
    dns.set_a("app.test", {"127.0.0.4"}, 1);
    sluice_process proxy{config()};
    ASSERT_EQ(proxy.wait_metric(servers_gauge, 1), 1);
    auto in_flight = http_get_async(proxy.port(), "/slow");
    ASSERT_TRUE(eventually([&] { return slow.current_requests() == 1; }));

    dns.set_a("app.test", {"127.0.0.2"}, 1);
    EXPECT_TRUE(proxy.wait_stderr("no longer names 127.0.0.4:"));
    const auto r = in_flight.get();
    EXPECT_EQ(r.status, 200) << r.error;
    EXPECT_EQ(r.headers.value("X-Served-By"), "slow");
    EXPECT_EQ(http_get(proxy.port(), "/").headers.value("X-Served-By"), "a");
    const auto status = http_get(proxy.admin_port(), "/status").body;
    EXPECT_EQ(status.find("127.0.0.4"), std::string::npos) << status;
}

TEST_F(discovery, a_failed_resolution_keeps_the_servers_and_says_so_once)
{
    dns.set_a("app.test", {"127.0.0.2", "127.0.0.3"}, 1);
    sluice_process proxy{config()};
    ASSERT_EQ(proxy.wait_metric(servers_gauge, 2), 2);

    dns.set_mode(test_dns_server::mode::servfail);
    EXPECT_TRUE(proxy.wait_stderr("discovery of app.test failed (servfail); keeping the 2"));
    EXPECT_GE(proxy.wait_metric(R"(sluice_discovery_errors_total{backend="app",reason="servfail"})",
                                2),
              2);
    EXPECT_EQ(http_get(proxy.port(), "/").status, 200);

    dns.set_mode(test_dns_server::mode::answer);
    dns.remove("app.test");
    EXPECT_TRUE(proxy.wait_stderr("failed (nxdomain)"));
    dns.set_mode(test_dns_server::mode::silent);
    EXPECT_TRUE(proxy.wait_stderr("failed (timeout)"));
    EXPECT_EQ(proxy.metric(servers_gauge), 2);
    EXPECT_EQ(http_get(proxy.port(), "/").status, 200);

    dns.set_a("app.test", {"127.0.0.2", "127.0.0.3"}, 1);
    dns.set_mode(test_dns_server::mode::answer);
    EXPECT_TRUE(proxy.wait_stderr("discovery of app.test answers again"));
    const auto log = proxy.stderr_text();
    std::size_t said = 0;
    for (auto at = log.find("failed (servfail)"); at != std::string::npos;
         at = log.find("failed (servfail)", at + 1))
        ++said;
    EXPECT_EQ(said, 1u) << log;
}

// With checks configured, a server found is down until its first check answers: a pod may be in
// the answer before it listens, and no request goes to it until then.
TEST_F(discovery, with_checks_a_server_found_takes_requests_after_its_first_passing_check)
{
    dns.set_a("app.test", {"127.0.0.2"}, 1);
    auto cfg = config();
    cfg.backend("checked", {},
                {"discovery: { dns: app.test, port: " + std::to_string(a.port()) +
                     ", interval: 1s, resolvers: [" + dns.address() + "] }",
                 "health: { http: { path: /healthz }, interval: 200ms, rise: 3, fall: 2 }"})
        .default_backend("checked");
    sluice_process proxy{cfg};
    EXPECT_TRUE(proxy.wait_stderr("first check passed"));
    traffic load{proxy.port(), 1};
    // 127.0.0.5 listens on nothing: down from the start, never a request.
    dns.set_a("app.test", {"127.0.0.2", "127.0.0.3", "127.0.0.5"}, 1);
    EXPECT_TRUE(eventually([&] { return b.request_count() > 0; }, 15s));
    const auto gauge = R"(sluice_discovery_servers{backend="checked"})";
    EXPECT_EQ(proxy.wait_metric(gauge, 3), 3);
    const auto status = http_get(proxy.admin_port(), "/status").body;
    const auto dead = status.find(R"("name":"127.0.0.5:)", status.find(R"("name":"checked")"));
    ASSERT_NE(dead, std::string::npos) << status;
    EXPECT_NE(status.substr(dead, 200).find(R"("state":"down")"), std::string::npos) << status;
    load.stop();
    EXPECT_EQ(load.failures(), std::vector<std::string>{});
}

// SRV records name targets (resolved by their A records), each with its own port and weight.
TEST(discovery_srv, targets_ports_and_weights_come_from_the_records)
{
    test_dns_server dns;
    scripted_backend one{{.name = "one", .host = "127.0.0.2"}};
    scripted_backend two{{.name = "two", .host = "127.0.0.3"}};
    dns.set_a("one.test", {"127.0.0.2"});
    dns.set_a("two.test", {"127.0.0.3"});
    dns.set_srv("_http._tcp.app.test",
                {{0, 30, one.port(), "one.test"}, {0, 10, two.port(), "two.test"}}, 1);
    proxy_config cfg;
    cfg.backend("app", {},
                {"discovery: { srv: _http._tcp.app.test, interval: 1s, resolvers: [" +
                     dns.address() + "] }",
                 "balance: roundrobin"});
    sluice_process proxy{cfg};
    ASSERT_EQ(proxy.wait_metric(servers_gauge, 2), 2);
    const auto status = http_get(proxy.admin_port(), "/status").body;
    const auto one_name = "127.0.0.2:" + std::to_string(one.port());
    const auto two_name = "127.0.0.3:" + std::to_string(two.port());
    EXPECT_NE(status.find(R"("name":")" + one_name + R"(","address":")" + one_name),
              std::string::npos)
        << status;
    // 30 and 10 in proportion to sluice's 1-256.
    EXPECT_NE(status.find(R"("weight":256)"), std::string::npos) << status;
    EXPECT_NE(status.find(R"("weight":86)"), std::string::npos) << status;
    for (int i = 0; i < 40; ++i) EXPECT_EQ(http_get(proxy.port(), "/").status, 200);
    EXPECT_GT(one.request_count(), two.request_count());
    EXPECT_GT(two.request_count(), 0u);
}

// SPEC: failing at start-up is not fatal; the backend has no server yet and its requests queue up
// to timeouts.queue. A request waiting when the name starts to answer is then served.
TEST_F(discovery, a_name_that_fails_at_start_up_leaves_requests_queued_until_it_answers)
{
    proxy_config cfg = config();
    cfg.timeout("queue", "20s");
    sluice_process proxy{cfg};
    EXPECT_TRUE(proxy.wait_stderr("discovery of app.test failed (nxdomain); keeping the 0"));
    EXPECT_EQ(http_get(proxy.admin_port(), "/readyz").status, 503);
    auto waiting = http_get_async(proxy.port(), "/");
    std::this_thread::sleep_for(300ms);
    dns.set_a("app.test", {"127.0.0.2"}, 1);
    const auto r = waiting.get();
    EXPECT_EQ(r.status, 200) << r.error << r.body;
    EXPECT_EQ(http_get(proxy.admin_port(), "/readyz").status, 200);
}

// A reload keeps the servers found and their state; a changed server_defaults applies to them.
TEST_F(discovery, a_reload_keeps_the_servers_found)
{
    dns.set_a("app.test", {"127.0.0.2", "127.0.0.3"}, 30);
    sluice_process proxy{config("30s")};
    ASSERT_EQ(proxy.wait_metric(servers_gauge, 2), 2);
    const auto queries = dns.queries();
    auto yaml = config("30s").yaml();
    const auto at = yaml.find("max_connections: 4");
    yaml.replace(at, 18, "max_connections: 3");
    proxy.dir().write_config("sluice.yaml", yaml);
    proxy.send_signal(SIGHUP);
    EXPECT_TRUE(proxy.wait_stderr("reloaded "));
    const auto server = R"(sluice_server_max_connections{backend="app",server="127.0.0.2:)" +
                        std::to_string(a.port()) + R"("})";
    EXPECT_EQ(proxy.wait_metric(server, 3), 3);
    EXPECT_EQ(proxy.metric(servers_gauge), 2);
    EXPECT_EQ(dns.queries(), queries) << "the unchanged watch should not have started over";
    EXPECT_EQ(http_get(proxy.port(), "/").status, 200);
}

}  // namespace
}  // namespace sluice::test
