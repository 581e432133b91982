#include "proxy/backend/discovered_servers.hpp"

#include <gtest/gtest.h>

namespace sluice::proxy {
namespace {

using namespace std::chrono_literals;

config::backend backend_with_discovery(std::string srv = "")
{
    config::backend b;
    b.name = "app";
    config::server listed;
    listed.name = "static1";
    listed.address.host = "127.0.0.9";
    listed.address.port = 9000;
    listed.address.text = "127.0.0.9:9000";
    b.servers.push_back(listed);
    b.server_defaults.max_connections = 4;
    b.server_defaults.weight = 3;
    b.server_defaults.worker_timeout = 45s;
    auto& d = b.discovery.emplace();
    if (srv.empty()) {
        d.dns = "app.test";
        d.port = 8000;
    } else {
        d.srv = srv;
    }
    return b;
}

TEST(discovered_servers, come_after_the_listed_ones_with_server_defaults)
{
    const auto b = backend_with_discovery();
    const auto servers = with_discovered(b, {{"10.0.0.1:8000", "10.0.0.1", 8000, 1}});
    ASSERT_EQ(servers.size(), 2u);
    EXPECT_EQ(servers[0].name, "static1");
    EXPECT_FALSE(servers[0].discovered);
    const auto& found = servers[1];
    EXPECT_EQ(found.name, "10.0.0.1:8000");
    EXPECT_EQ(found.address.host, "10.0.0.1");
    EXPECT_EQ(found.address.port, 8000);
    EXPECT_EQ(found.address.text, "10.0.0.1:8000");
    EXPECT_EQ(found.address.type, config::endpoint::kind::tcp);
    EXPECT_EQ(found.max_connections, 4u);
    EXPECT_EQ(found.worker_timeout, 45s);
    EXPECT_EQ(found.weight, 3u);  // an A answer carries no weight: server_defaults'
    EXPECT_TRUE(found.discovered);
}

TEST(discovered_servers, srv_weights_replace_the_default_weight)
{
    const auto b = backend_with_discovery("_http._tcp.app.test");
    const auto servers = with_discovered(b, {{"10.0.0.1:8001", "10.0.0.1", 8001, 200},
                                             {"10.0.0.2:8002", "10.0.0.2", 8002, 1}});
    ASSERT_EQ(servers.size(), 3u);
    EXPECT_EQ(servers[1].weight, 200u);
    EXPECT_EQ(servers[2].weight, 1u);
}

// Rebuilding from a backend that already holds discovered servers replaces them: a server that
// left the answer leaves the list.
TEST(discovered_servers, a_new_answer_replaces_the_servers_found_before)
{
    auto b = backend_with_discovery();
    b.servers = with_discovered(b, {{"10.0.0.1:8000", "10.0.0.1", 8000, 1},
                                    {"10.0.0.2:8000", "10.0.0.2", 8000, 1}});
    const auto servers = with_discovered(b, {{"10.0.0.2:8000", "10.0.0.2", 8000, 1}});
    ASSERT_EQ(servers.size(), 2u);
    EXPECT_EQ(servers[0].name, "static1");
    EXPECT_EQ(servers[1].name, "10.0.0.2:8000");
}

TEST(discovered_servers, a_found_server_named_like_a_listed_one_is_left_out)
{
    auto b = backend_with_discovery();
    b.servers[0].name = "10.0.0.1:8000";
    const auto servers = with_discovered(b, {{"10.0.0.1:8000", "10.0.0.1", 8000, 1}});
    ASSERT_EQ(servers.size(), 1u);
    EXPECT_FALSE(servers[0].discovered);
    EXPECT_EQ(servers[0].address.host, "127.0.0.9");
}

}  // namespace
}  // namespace sluice::proxy
