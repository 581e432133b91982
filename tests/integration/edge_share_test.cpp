// Several sluice instances in front of the same server (SPEC.md "Several sluice instances"): N
// comes from the addresses scale_out.peers.dns resolves to, each instance allows
// ceil(max_connections / N), and a new N applies without a reload. The server counts its
// requests in progress: with two instances sending at once it never exceeds its workers, also
// while N changes, and while instances come and go under traffic (issue 17).

#include "integration/polling.hpp"
#include "integration/traffic.hpp"
#include "support/http_client.hpp"
#include "support/proxy_config.hpp"
#include "support/scripted_backend.hpp"
#include "support/sluice_process.hpp"
#include "support/test_dns_server.hpp"

#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

class edge_share : public ::testing::Test {
protected:
    edge_share() { dns.set_a("edge.test", {"127.0.0.2", "127.0.0.3"}, 1); }

    // An instance of the edge tier in front of `server` (named app1), which has that many workers.
    proxy_config edge_config(const scripted_backend& server, unsigned max_connections) const
    {
        proxy_config cfg;
        cfg.backend("app", {server.address()},
                    {"server_defaults: { max_connections: " + std::to_string(max_connections) +
                     " }"})
            .top_level("scale_out: { peers: { dns: edge.test, interval: 1s, resolvers: [" +
                       dns.address() + "] } }");
        return cfg;
    }
    sluice_process start_edge() const { return sluice_process{edge_config(app, 4)}; }

    std::string share_metric() const
    {
        return R"(sluice_server_max_connections{backend="app",server="app1"})";
    }

    test_dns_server dns;
    scripted_backend app{{.workers = 8, .reply_after = 300ms}};
};

std::vector<std::future<response>> send_many(std::uint16_t port, int n)
{
    std::vector<std::future<response>> out;
    for (int i = 0; i < n; ++i) out.push_back(http_get_async(port, "/slow"));
    return out;
}

TEST_F(edge_share, each_instance_allows_its_share_and_follows_the_peer_count)
{
    auto a = start_edge();
    auto b = start_edge();
    for (auto* p : {&a, &b}) {
        EXPECT_EQ(p->wait_metric("sluice_scale_out_peers", 2), 2);
        EXPECT_EQ(p->wait_metric(share_metric(), 2), 2);
    }
    auto first = send_many(a.port(), 6);
    auto second = send_many(b.port(), 6);
    for (auto* batch : {&first, &second})
        for (auto& f : *batch) EXPECT_EQ(f.get().status, 200);
    EXPECT_LE(app.max_concurrent_requests(), 4u);  // the workers sluice was told of

    dns.set_a("edge.test", {"127.0.0.2", "127.0.0.3", "127.0.0.4"}, 1);
    EXPECT_EQ(a.wait_metric("sluice_scale_out_peers", 3), 3);
    EXPECT_EQ(a.wait_metric(share_metric(), 2), 2);  // ceil(4 / 3)
    dns.set_a("edge.test", {"127.0.0.2"}, 1);
    EXPECT_EQ(a.wait_metric("sluice_scale_out_peers", 1), 1);
    EXPECT_EQ(a.wait_metric(share_metric(), 4), 4);
    const auto status = http_get(a.admin_port(), "/status");
    EXPECT_NE(status.body.find("\"scale_out_peers\":1"), std::string::npos) << status.body;
}

// SPEC.md's promise while the tier changes size: the server never has more requests than its
// workers. Each instance has more clients than its share, so every share is used to the full.
// The order of each change is what keeps the sum within max_connections: before an instance
// comes, the name has its address and the others have come down to their new share (a lowered
// share admits nothing new, so their in-flight count also has to come down); before the name
// loses addresses, their instances are gone. A new instance allows all of max_connections until
// its first peer count (its /readyz does not wait for one), so it gets traffic once it shows its
// share.
TEST_F(edge_share, the_server_never_exceeds_its_workers_while_n_goes_from_2_to_3_to_1)
{
    scripted_backend server{{.workers = 12, .reply_after = 100ms}};
    const auto share = [](const sluice_process& p, double expected) {
        return p.wait_metric(R"(sluice_server_max_connections{backend="app",server="app1"})",
                             expected, 10s) == expected;
    };
    const auto in_flight = [](const sluice_process& p, double expected) {
        return p.wait_metric(R"(sluice_server_in_flight{backend="app",server="app1"})", expected,
                             10s) == expected;
    };
    // Waits until the server has answered `more` requests, so each phase carries traffic.
    const auto served = [&](std::size_t more) {
        const auto until = server.request_count() + more;
        return eventually([&] { return server.request_count() >= until; }, 15s);
    };
    constexpr int clients = 8;  // per instance: more than any share of 6

    auto a = std::make_unique<sluice_process>(edge_config(server, 6));
    auto b = std::make_unique<sluice_process>(edge_config(server, 6));
    ASSERT_TRUE(share(*a, 3) && share(*b, 3));  // ceil(6 / 2)
    traffic to_a{a->port(), clients};
    traffic to_b{b->port(), clients};
    EXPECT_TRUE(served(30));

    dns.set_a("edge.test", {"127.0.0.2", "127.0.0.3", "127.0.0.4"}, 1);
    ASSERT_TRUE(share(*a, 2) && share(*b, 2));  // ceil(6 / 3)
    ASSERT_TRUE(in_flight(*a, 2) && in_flight(*b, 2));
    auto c = std::make_unique<sluice_process>(edge_config(server, 6));
    ASSERT_TRUE(share(*c, 2));
    traffic to_c{c->port(), clients};
    EXPECT_TRUE(served(30));

    for (auto* t : {&to_b, &to_c}) t->stop();
    b.reset();
    c.reset();
    dns.set_a("edge.test", {"127.0.0.2"}, 1);
    ASSERT_TRUE(share(*a, 6));
    EXPECT_TRUE(served(30));
    to_a.stop();

    for (const auto* t : {&to_a, &to_b, &to_c}) {
        EXPECT_GT(t->answered(), 0u);
        EXPECT_EQ(t->failures(), std::vector<std::string>{});
    }
    EXPECT_LE(server.max_concurrent_requests(), 6u);
    EXPECT_GT(server.max_concurrent_requests(), 2u) << "the shares were used";
}

// Before its first count an instance cannot know its share: /readyz keeps balancers away.
TEST_F(edge_share, an_instance_is_not_ready_before_its_first_count)
{
    dns.remove("edge.test");
    auto a = start_edge();
    EXPECT_TRUE(a.wait_stderr("resolving edge.test failed (nxdomain)"));
    const auto waiting = http_get(a.admin_port(), "/readyz");
    EXPECT_EQ(waiting.status, 503);
    EXPECT_NE(waiting.body.find("scale_out.peers: no answer yet for edge.test"), std::string::npos)
        << waiting.body;
    dns.set_a("edge.test", {"127.0.0.2", "127.0.0.3"}, 1);
    EXPECT_EQ(a.wait_metric("sluice_scale_out_peers", 2), 2);
    EXPECT_EQ(http_get(a.admin_port(), "/readyz").status, 200);
}

// A failed resolution keeps the last count, and says so once.
TEST_F(edge_share, a_failed_resolution_keeps_the_last_count)
{
    auto a = start_edge();
    ASSERT_EQ(a.wait_metric("sluice_scale_out_peers", 2), 2);
    dns.set_mode(test_dns_server::mode::servfail);
    EXPECT_TRUE(a.wait_stderr("resolving edge.test failed (servfail)"));
    EXPECT_EQ(a.metric("sluice_scale_out_peers"), 2);
    EXPECT_EQ(a.metric(share_metric()), 2);
    dns.set_mode(test_dns_server::mode::answer);
    EXPECT_TRUE(a.wait_stderr("edge.test resolves again"));
}

}  // namespace
}  // namespace sluice::test
