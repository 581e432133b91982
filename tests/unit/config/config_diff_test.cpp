#include "config/config_diff.hpp"

#include "config/loader.hpp"

#include <gtest/gtest.h>

namespace sluice::config {
namespace {

root parsed(std::string_view servers, std::string_view extra = "")
{
    std::string yaml = "listeners:\n  - { name: web, bind: 127.0.0.1:8080 }\n"
                       "backends:\n  - name: app\n    servers:\n" +
                       std::string(servers) + std::string(extra);
    return load_string(yaml, "t.yaml").config;
}

constexpr std::string_view two = "      - { name: a, address: 127.0.0.1:8001 }\n"
                                 "      - { name: b, address: 127.0.0.1:8002 }\n";

TEST(config_diff, the_same_config_changes_nothing)
{
    EXPECT_TRUE(describe_changes(parsed(two), parsed(two)).empty());
}

TEST(config_diff, servers_added_removed_and_changed_are_named)
{
    const auto after = parsed("      - { name: a, address: 127.0.0.1:9001, weight: 3 }\n"
                              "      - { name: c, address: 127.0.0.1:8003 }\n",
                              "timeouts: { queue: 5s }\n");
    EXPECT_EQ(describe_changes(parsed(two), after),
              (std::vector<std::string>{
                  "backend app: server a: address 127.0.0.1:8001 -> 127.0.0.1:9001",
                  "backend app: server a: weight 1 -> 3", "backend app: server c added",
                  "backend app: server b removed", "timeouts.queue: 10s -> 5s"}));
}

TEST(config_diff, a_listeners_defer_accept_change_is_named)
{
    auto before = parsed(two), after = parsed(two);
    after.listeners[0].defer_accept = false;
    EXPECT_EQ(describe_changes(before, after),
              std::vector<std::string>{"listener web: defer_accept (new connections)"});
}

TEST(config_diff, a_new_token_is_said_without_the_token)
{
    auto before = parsed(two), after = parsed(two);
    after.admin.token = "secret";
    const auto changes = describe_changes(before, after);
    ASSERT_EQ(changes.size(), 1u);
    EXPECT_EQ(changes[0].find("secret"), std::string::npos);
}

TEST(config_diff, server_tls_and_proxy_protocol_changes_are_named)
{
    const auto before = parsed(
        "      - { name: a, address: 127.0.0.1:8001 }\n"
        "      - { name: b, address: 127.0.0.1:8002, tls: { sni: b.old } }\n");
    const auto after = parsed(
        "      - { name: a, address: 127.0.0.1:8001, tls: {}, proxy_protocol: v1 }\n"
        "      - { name: b, address: 127.0.0.1:8002, tls: { sni: b.new } }\n");
    EXPECT_EQ(describe_changes(before, after),
              (std::vector<std::string>{"backend app: server a: tls off -> on",
                                        "backend app: server a: proxy_protocol off -> v1",
                                        "backend app: server b: tls.sni b.old -> b.new"}));
}

TEST(config_diff, a_tls_listener_always_says_its_certificates_are_read_again)
{
    auto plain = parsed(two);
    auto tls = plain;
    tls.listeners[0].tls.emplace().certificates.push_back({"/etc/a.crt", "/etc/a.key", {}});
    EXPECT_EQ(describe_changes(plain, tls),
              std::vector<std::string>{"listener web: tls on (new connections)"});
    EXPECT_EQ(describe_changes(tls, plain),
              std::vector<std::string>{"listener web: tls off (new connections)"});
    EXPECT_EQ(describe_changes(tls, tls),
              std::vector<std::string>{"listener web: tls certificate files re-read (new "
                                       "handshakes)"});
    auto renamed = tls;
    renamed.listeners[0].tls->certificates[0].cert = "/etc/b.crt";
    EXPECT_EQ(describe_changes(tls, renamed),
              std::vector<std::string>{"listener web: tls (new handshakes)"});
}

}  // namespace
}  // namespace sluice::config
