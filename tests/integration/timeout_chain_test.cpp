// The timeout chain at run time: `sluice run` logs what `sluice check` would flag, per-route
// overrides apply to the requests of their route only, and a request deadline derived from the
// chain answers before the load balancer in front gives up.

#include "integration/polling.hpp"
#include "support/http_client.hpp"
#include "support/proxy_config.hpp"
#include "support/scripted_backend.hpp"
#include "support/sluice_process.hpp"

#include <gtest/gtest.h>

namespace sluice::test {
namespace {

TEST(timeout_chain, run_logs_the_findings_of_check_at_start_up)
{
    scripted_backend app;
    sluice_process proxy{
        config_for(app).timeout("upstream_idle", "60s").timeout("client_idle", "30s")};
    EXPECT_TRUE(proxy.wait_stderr("timeout chain: ")) << proxy.stderr_text();
    EXPECT_NE(proxy.stderr_text().find("timeouts.client_idle"), std::string::npos)
        << proxy.stderr_text();
    EXPECT_EQ(http_get(proxy.port(), "/").status, 200) << "a finding stopped nothing";
}

TEST(timeout_chain, a_routes_server_timeout_applies_to_that_route_only)
{
    scripted_backend app{{.reply_after = 600ms}};
    sluice_process proxy{config_for(app)
                             .route("{ path_prefix: /fast }",
                                    "app\n        timeouts: { server: 200ms }")
                             .default_backend("app")};
    auto slow_is_fine = http_get_async(proxy.port(), "/slow");
    const auto start = steady::now();
    auto r = http_get(proxy.port(), "/fast");
    EXPECT_EQ(r.status, 504) << r.error;
    EXPECT_LT(since(start), 550ms);
    EXPECT_EQ(slow_is_fine.get().status, 200);
    auto log = proxy.wait_access_log(2);
    ASSERT_EQ(log.size(), 2u);
    EXPECT_EQ(log[0]["reason"], "server_timeout") << log[0].text();
    EXPECT_EQ(proxy.wait_metric(R"(sluice_timeouts_total{kind="server"})", 1), 1);
    EXPECT_TRUE(eventually([&] { return app.abandoned_requests() == 1; }, 3s))
        << "the backend connection of the 504 stayed open";
}

// upstream_idle 2s and queue + connect + server = 12s: the derived deadline stops short of the
// load balancer's 2 s (by max(1 s, 5 %)), so the client gets sluice's 504, not the LB's silence.
TEST(timeout_chain, the_derived_deadline_answers_before_the_load_balancer_gives_up)
{
    scripted_backend app{{.reply_after = 4s}};
    sluice_process proxy{config_for(app)
                             .timeout("upstream_idle", "2s")
                             .timeout("client_idle", "3s")
                             .timeout("queue", "1s")
                             .timeout("connect", "1s")
                             .timeout("server", "10s")};
    const auto start = steady::now();
    auto r = http_get(proxy.port(), "/slow");
    EXPECT_EQ(r.status, 504) << r.error;
    EXPECT_GE(since(start), 900ms);
    EXPECT_LT(since(start), 1900ms);
    ASSERT_TRUE(app.wait_for_requests(1));
    EXPECT_LE(std::stol(app.requests()[0].headers.value("X-Request-Timeout-Ms")), 1000);
    auto log = proxy.wait_access_log(1);
    ASSERT_EQ(log.size(), 1u);
    EXPECT_EQ(log[0]["reason"], "request_timeout") << log[0].text();
}

}  // namespace
}  // namespace sluice::test
