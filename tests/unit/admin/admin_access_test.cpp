#include "admin/admin_access.hpp"

#include <gtest/gtest.h>

namespace sluice::admin {
namespace {

config::endpoint tcp(std::string host)
{
    return {config::endpoint::kind::tcp, host, 9090, "", host + ":9090"};
}

TEST(admin_access, secrets_match_only_when_every_byte_and_the_length_do)
{
    EXPECT_TRUE(same_secret("s3cret", "s3cret"));
    EXPECT_FALSE(same_secret("s3cret", "s3creT"));
    EXPECT_FALSE(same_secret("s3cret", "s3cre"));
    EXPECT_FALSE(same_secret("s3cret", "s3cret\n"));
    EXPECT_FALSE(same_secret("", "x"));
    EXPECT_TRUE(same_secret("", ""));
}

TEST(admin_access, without_a_token_only_a_local_bind_may_post)
{
    EXPECT_EQ(authorize_post("", tcp("127.0.0.1"), "").status, 0u);
    const auto refused = authorize_post("", tcp("0.0.0.0"), "Bearer anything");
    EXPECT_EQ(refused.status, 403u);
    EXPECT_NE(refused.reason.find("admin.token_file"), std::string::npos) << refused.reason;
    EXPECT_NE(refused.reason.find("0.0.0.0:9090"), std::string::npos) << refused.reason;
}

TEST(admin_access, with_a_token_every_post_needs_the_bearer_token_even_from_loopback)
{
    const std::string token = "tok-123";
    for (auto bind : {tcp("127.0.0.1"), tcp("0.0.0.0")}) {
        EXPECT_EQ(authorize_post(token, bind, "Bearer tok-123").status, 0u);
        EXPECT_EQ(authorize_post(token, bind, "bearer tok-123").status, 0u);
        for (auto header : {"", "Bearer", "Bearer ", "Bearer tok-124",
                            "Basic dG9rLTEyMw==", "tok-123", "Bearer tok-123 "})
            EXPECT_EQ(authorize_post(token, bind, header).status, 401u) << header;
    }
    EXPECT_NE(authorize_post(token, tcp("0.0.0.0"), "").reason.find("Authorization: Bearer"),
              std::string::npos);
}

TEST(admin_access, post_targets_name_a_server_and_what_to_change)
{
    const auto state = parse_post_target("/servers/app/app1/state");
    ASSERT_TRUE(state);
    EXPECT_EQ(state->what, post_target::kind::state);
    EXPECT_EQ(state->backend, "app");
    EXPECT_EQ(state->server, "app1");
    const auto weight = parse_post_target("/servers/my%20app/10.0.0.1%3A8000/weight?x=1");
    ASSERT_TRUE(weight);
    EXPECT_EQ(weight->what, post_target::kind::weight);
    EXPECT_EQ(weight->backend, "my app");
    EXPECT_EQ(weight->server, "10.0.0.1:8000");
    EXPECT_EQ(parse_post_target("/reload")->what, post_target::kind::reload);
    for (auto bad :
         {"/", "/servers", "/servers/app/app1", "/servers/app/app1/state/x", "/servers//app1/state",
          "/servers/app/app1/maint", "/reload/now", "/servers/a%zz/b/state", "/status"})
        EXPECT_FALSE(parse_post_target(bad)) << bad;
}

}  // namespace
}  // namespace sluice::admin
