// net/dns_resolver against tests/support/test_dns_server on 127.0.0.1: real UDP, real c-ares.
#include "net/dns_resolver.hpp"

#include "config/units.hpp"
#include "support/test_dns_server.hpp"

#include <gtest/gtest.h>

namespace sluice::net {
namespace {

using namespace std::chrono_literals;
using test::test_dns_server;

dns_query address_query(const test_dns_server& dns, std::string name, std::uint16_t port,
                        std::chrono::milliseconds timeout = 2s)
{
    dns_query q;
    q.name = std::move(name);
    q.port = port;
    q.resolvers = {*config::parse_endpoint(dns.address()).value};
    q.timeout = timeout;
    return q;
}

std::vector<std::string> texts(const resolve_answer& a)
{
    std::vector<std::string> out;
    for (const auto& r : a.addresses)
        out.push_back(r.address + ":" + std::to_string(r.port) + " p" + std::to_string(r.priority) +
                      " w" + std::to_string(r.srv_weight));
    return out;
}

using list = std::vector<std::string>;

TEST(dns_resolver, a_and_aaaa_records_are_servers_on_the_port_with_the_smallest_ttl)
{
    test_dns_server dns;
    dns.set_a("app.test", {"127.0.0.3", "127.0.0.2"}, 30);
    dns.set_aaaa("app.test", {"fd00::1"}, 7);
    const auto a = resolve(address_query(dns, "app.test", 8000));
    ASSERT_FALSE(a.failure) << to_string(*a.failure);
    EXPECT_EQ(texts(a),
              (list{"127.0.0.2:8000 p0 w0", "127.0.0.3:8000 p0 w0", "fd00::1:8000 p0 w0"}));
    EXPECT_EQ(a.ttl, 7s);
}

TEST(dns_resolver, records_changed_at_run_time_are_seen_at_the_next_resolution)
{
    test_dns_server dns;
    dns.set_a("app.test", {"127.0.0.2"});
    EXPECT_EQ(resolve(address_query(dns, "app.test", 80)).addresses.size(), 1u);
    dns.set_a("app.test", {"127.0.0.2", "127.0.0.4"});
    EXPECT_EQ(resolve(address_query(dns, "app.test", 80)).addresses.size(), 2u);
}

TEST(dns_resolver, srv_records_give_targets_ports_and_weights)
{
    test_dns_server dns;
    dns.set_srv(
        "_http._tcp.app.test",
        {{10, 60, 8001, "a.app.test"}, {10, 20, 8002, "b.app.test"}, {20, 5, 8003, "c.app.test"}},
        12);
    dns.set_a("a.app.test", {"127.0.0.2"}, 30);
    dns.set_a("b.app.test", {"127.0.0.3"}, 5);
    dns.set_a("c.app.test", {"127.0.0.4"}, 30);
    auto q = address_query(dns, "_http._tcp.app.test", 0);
    q.type = dns_query::kind::srv;
    const auto a = resolve(q);
    ASSERT_FALSE(a.failure) << to_string(*a.failure);
    EXPECT_EQ(texts(a),
              (list{"127.0.0.2:8001 p10 w60", "127.0.0.3:8002 p10 w20", "127.0.0.4:8003 p20 w5"}));
    EXPECT_EQ(a.ttl, 5s);
}

TEST(dns_resolver, an_unknown_name_is_nxdomain)
{
    test_dns_server dns;
    EXPECT_EQ(resolve(address_query(dns, "nothing.test", 80)).failure, resolve_failure::nxdomain);
}

TEST(dns_resolver, a_name_without_addresses_is_empty)
{
    test_dns_server dns;
    dns.set_srv("app.test", {{0, 0, 80, "x.test"}});
    EXPECT_EQ(resolve(address_query(dns, "app.test", 80)).failure, resolve_failure::empty);
}

TEST(dns_resolver, servfail_and_nxdomain_answers_are_told_apart)
{
    test_dns_server dns;
    dns.set_a("app.test", {"127.0.0.2"});
    dns.set_mode(test_dns_server::mode::servfail);
    EXPECT_EQ(resolve(address_query(dns, "app.test", 80)).failure, resolve_failure::servfail);
    dns.set_mode(test_dns_server::mode::nxdomain);
    EXPECT_EQ(resolve(address_query(dns, "app.test", 80)).failure, resolve_failure::nxdomain);
}

TEST(dns_resolver, a_silent_resolver_is_a_timeout_after_the_timeout)
{
    test_dns_server dns;
    dns.set_mode(test_dns_server::mode::silent);
    const auto start = std::chrono::steady_clock::now();
    const auto a = resolve(address_query(dns, "app.test", 80, 300ms));
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(a.failure, resolve_failure::timeout);
    EXPECT_GE(took, 250ms);
    EXPECT_LT(took, 2s);
    EXPECT_GE(dns.queries(), 1u);
}

TEST(dns_resolver, a_silent_resolver_is_followed_by_the_next)
{
    test_dns_server down, up;
    down.set_mode(test_dns_server::mode::silent);
    up.set_a("app.test", {"127.0.0.2"});
    auto q = address_query(down, "app.test", 80, 300ms);
    q.resolvers.push_back(*config::parse_endpoint(up.address()).value);
    const auto a = resolve(q);
    ASSERT_FALSE(a.failure) << to_string(*a.failure);
    EXPECT_EQ(texts(a), (list{"127.0.0.2:80 p0 w0"}));
}

}  // namespace
}  // namespace sluice::net
