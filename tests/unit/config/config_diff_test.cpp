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

TEST(config_diff, a_new_token_is_said_without_the_token)
{
    auto before = parsed(two), after = parsed(two);
    after.admin.token = "secret";
    const auto changes = describe_changes(before, after);
    ASSERT_EQ(changes.size(), 1u);
    EXPECT_EQ(changes[0].find("secret"), std::string::npos);
}

}  // namespace
}  // namespace sluice::config
