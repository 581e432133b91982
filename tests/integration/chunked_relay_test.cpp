// Chunked transfer coding through the proxy, in both directions: every byte arrives, in order.

#include "support/http_client.hpp"
#include "support/proxy_config.hpp"
#include "support/scripted_backend.hpp"
#include "support/sluice_process.hpp"

#include <gtest/gtest.h>

namespace sluice::test {
namespace {

TEST(chunked_relay, chunked_request_body_is_relayed_intact)
{
    scripted_backend app;
    sluice_process proxy{config_for(app)};
    auto r = request(proxy.port(),
                     {.method = "POST", .generated_body_size = 3 * mib + 7, .chunked = true});
    EXPECT_EQ(r.status, 200) << r.error;
    auto seen = app.requests().at(0);
    EXPECT_EQ(seen.body_size, 3 * mib + 7);
    EXPECT_TRUE(seen.body_matches_pattern);
}

TEST(chunked_relay, chunked_response_is_relayed_intact)
{
    scripted_backend app{{.chunked = true, .response_size = 3 * mib + 11}};
    sluice_process proxy{config_for(app)};
    auto r = request(proxy.port(), {.keep_body = false});
    EXPECT_EQ(r.status, 200) << r.error;
    EXPECT_EQ(r.error, "");
    EXPECT_EQ(r.body_size, 3 * mib + 11);
    EXPECT_TRUE(r.body_matches_pattern);
}

}  // namespace
}  // namespace sluice::test
