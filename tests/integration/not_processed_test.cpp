// SPEC.md "Several sluice instances": a 503 that a sluice made before anything reached an app says
// so in X-Sluice-Not-Processed, and a sluice in front that gets it sends the request to another
// server whatever its method, without counting it against that server's health.

#include "support/http_client.hpp"
#include "support/proxy_config.hpp"
#include "support/scripted_backend.hpp"
#include "support/sluice_process.hpp"

#include <gtest/gtest.h>

namespace sluice::test {
namespace {

const std::string not_processed_retries =
    R"(sluice_retries_total{backend="app",reason="not_processed"})";

reply refused(bool marked)
{
    reply r{.status = 503, .body = "busy\n"};
    if (marked) r.headers.add("X-Sluice-Not-Processed", "1");
    return r;
}

proxy_config two_servers(const scripted_backend& a, const scripted_backend& b)
{
    return proxy_config{}.backend("app", {a.address(), b.address()},
                                  {"balance: roundrobin", "server_defaults: { max_connections: 4 }",
                                   "passive: { consecutive_failures: 1 }"});
}

TEST(not_processed, a_post_refused_unprocessed_goes_to_the_other_server)
{
    scripted_backend a{{.handler = [](const recorded_request&) { return refused(true); }}};
    scripted_backend b{{.name = "b"}};
    sluice_process proxy{two_servers(a, b)};
    for (int i = 0; i < 4; ++i) {
        // Large enough to be buffered whole, so it can go out again.
        auto r = request(proxy.port(),
                         {.method = "POST", .path = "/pay", .generated_body_size = 200 * 1024});
        EXPECT_EQ(r.status, 200) << r.error;
        EXPECT_EQ(r.headers.value("X-Served-By"), "b");
    }
    EXPECT_EQ(b.request_count(), 4u);
    ASSERT_GE(a.request_count(), 1u);
    for (const auto& seen : b.requests())
        EXPECT_TRUE(seen.body_matches_pattern && seen.body_size == 200 * 1024);
    EXPECT_EQ(proxy.wait_metric(not_processed_retries, static_cast<double>(a.request_count())),
              static_cast<double>(a.request_count()));
    // Not a failure of a: with consecutive_failures 1 a plain 503 would have ejected it.
    EXPECT_EQ(proxy.metric(R"(sluice_server_state{backend="app",server="app1",state="up"})"), 1);
}

TEST(not_processed, a_plain_503_is_the_answer)
{
    scripted_backend a{{.handler = [](const recorded_request&) { return refused(false); }}};
    scripted_backend b{{.handler = [](const recorded_request&) { return refused(false); }}};
    sluice_process proxy{two_servers(a, b)};
    auto r = request(proxy.port(), {.method = "POST", .path = "/pay", .body = "x"});
    EXPECT_EQ(r.status, 503) << r.error;
    EXPECT_EQ(a.request_count() + b.request_count(), 1u);
    EXPECT_EQ(proxy.metric(not_processed_retries).value_or(0), 0);
}

TEST(not_processed, the_proxys_own_503s_carry_the_header)
{
    scripted_backend app{{.workers = 1, .reply_after = 1s}};
    sluice_process proxy{proxy_config{}.backend("app", {app.address()},
                                                {"server_defaults: { max_connections: 1 }",
                                                 "queue: { max_length: 0 }"})};
    auto slow = http_get_async(proxy.port(), "/slow");
    ASSERT_TRUE(app.wait_for_requests(1));
    auto r = http_get(proxy.port(), "/refused");
    EXPECT_EQ(r.status, 503) << r.error;
    EXPECT_EQ(r.headers.value("X-Sluice-Not-Processed"), "1");
    EXPECT_EQ(slow.get().status, 200);
}

TEST(not_processed, an_empty_header_name_turns_it_off_both_ways)
{
    scripted_backend a{{.handler = [](const recorded_request&) { return refused(true); }}};
    scripted_backend b;
    sluice_process proxy{two_servers(a, b).top_level("scale_out: { not_processed_header: \"\" }")};
    auto r = http_get(proxy.port(), "/");
    if (a.request_count() == 1) {
        EXPECT_EQ(r.status, 503);
        EXPECT_EQ(b.request_count(), 0u);
    } else {
        EXPECT_EQ(r.status, 200);
    }
    EXPECT_EQ(proxy.metric(not_processed_retries).value_or(0), 0);
}

}  // namespace
}  // namespace sluice::test
