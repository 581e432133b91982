// Several sluice instances in front of the same server (SPEC.md "Several sluice instances"): N
// comes from the addresses scale_out.peers.dns resolves to, each instance allows
// ceil(max_connections / N), and a new N applies without a reload. The server counts its
// requests in progress: with two instances sending at once it never exceeds its workers, also
// while N changes.

#include "support/http_client.hpp"
#include "support/proxy_config.hpp"
#include "support/scripted_backend.hpp"
#include "support/sluice_process.hpp"
#include "support/test_dns_server.hpp"

#include <gtest/gtest.h>

#include <future>
#include <string>
#include <vector>

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

class edge_share : public ::testing::Test {
protected:
    edge_share() { dns.set_a("edge.test", {"127.0.0.2", "127.0.0.3"}, 1); }

    sluice_process start_edge()
    {
        proxy_config cfg;
        cfg.backend("app", {app.address()}, {"server_defaults: { max_connections: 4 }"})
            .top_level("scale_out: { peers: { dns: edge.test, interval: 1s, resolvers: [" +
                       dns.address() + "] } }");
        return sluice_process{cfg};
    }

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
