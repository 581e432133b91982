// The timeout chain at run time: `sluice run` logs what `sluice check` would flag and, like
// check, refuses an error (at start and on reload) unless --allow-chain-errors; per-route
// overrides apply to the requests of their route only, and a request deadline derived from the
// chain answers before the load balancer in front gives up.

#include "integration/polling.hpp"
#include "support/http_client.hpp"
#include "support/proxy_config.hpp"
#include "support/scripted_backend.hpp"
#include "support/sluice_process.hpp"

#include <signal.h>

#include <gtest/gtest.h>

namespace sluice::test {
namespace {

// An LB with a 60 s idle timeout in front of a proxy that closes idle clients at 30 s: an error.
proxy_config with_chain_error(const scripted_backend& app)
{
    return config_for(app).timeout("upstream_idle", "60s").timeout("client_idle", "30s");
}

TEST(timeout_chain, run_logs_the_warnings_of_check_at_start_up)
{
    scripted_backend app;
    // queue 30 s + connect 3 s + server 55 s = 88 s behind a 60 s LB: a warning, served anyway.
    sluice_process proxy{config_for(app)
                             .timeout("upstream_idle", "60s")
                             .timeout("client_idle", "75s")
                             .timeout("queue", "30s")
                             .timeout("server", "55s")};
    EXPECT_TRUE(proxy.wait_stderr("timeout chain: ")) << proxy.stderr_text();
    EXPECT_NE(proxy.stderr_text().find("set timeouts.queue to 22s and timeouts.server to 32s"),
              std::string::npos)
        << proxy.stderr_text();
    EXPECT_EQ(http_get(proxy.port(), "/").status, 200) << "a warning stopped nothing";
}

TEST(timeout_chain, run_refuses_a_chain_error_as_check_does_and_starts_nothing)
{
    scripted_backend app;
    temp_dir dir;
    const auto path = dir.write_config("sluice.yaml", with_chain_error(app).yaml());
    const auto check = run_sluice({"check", "-c", path});
    EXPECT_EQ(check.exit_code, 1) << check.out;
    const auto run = run_sluice({"run", "-c", path});
    EXPECT_EQ(run.exit_code, 1) << run.err;
    EXPECT_NE(run.err.find("timeouts.client_idle"), std::string::npos) << run.err;
    EXPECT_NE(run.err.find("nothing was started"), std::string::npos) << run.err;
    EXPECT_NE(run.err.find("--allow-chain-errors"), std::string::npos) << run.err;
    EXPECT_EQ(run.err.find("listening on"), std::string::npos) << run.err;
}

TEST(timeout_chain, allow_chain_errors_starts_anyway_and_says_so)
{
    scripted_backend app;
    sluice_process proxy{with_chain_error(app).yaml(), {"--allow-chain-errors"}};
    EXPECT_EQ(http_get(proxy.port(), "/").status, 200);
    EXPECT_NE(proxy.stderr_text().find("starting despite 1 error(s) in the timeout chain "
                                       "(--allow-chain-errors)"),
              std::string::npos)
        << proxy.stderr_text();
}

// Writes `yaml` over the proxy's config, sends SIGHUP and waits for the line that ends the reload.
bool reload_says(const sluice_process& proxy, const std::string& yaml, const std::string& line)
{
    proxy.dir().write_config("sluice.yaml", yaml);
    proxy.send_signal(SIGHUP);
    return proxy.wait_stderr(line);
}

TEST(timeout_chain, a_reload_with_a_chain_error_keeps_the_old_config)
{
    scripted_backend app;
    sluice_process proxy{config_for(app)};
    ASSERT_EQ(http_get(proxy.port(), "/").status, 200);
    EXPECT_TRUE(reload_says(proxy, with_chain_error(app).yaml(),
                            "reload failed: the timeout chain has 1 error(s)"))
        << proxy.stderr_text();
    EXPECT_NE(proxy.stderr_text().find("reload: timeout chain: timeouts: "), std::string::npos);
    EXPECT_EQ(proxy.wait_metric(R"(sluice_config_reloads_total{result="error"})", 1), 1);
    EXPECT_EQ(http_get(proxy.port(), "/").status, 200);
    EXPECT_TRUE(reload_says(proxy, config_for(app).yaml(), "reloaded ")) << proxy.stderr_text();
}

TEST(timeout_chain, a_reload_with_a_chain_error_applies_under_allow_chain_errors)
{
    scripted_backend app;
    sluice_process proxy{config_for(app).yaml(), {"--allow-chain-errors"}};
    ASSERT_EQ(http_get(proxy.port(), "/").status, 200);
    EXPECT_TRUE(reload_says(proxy, with_chain_error(app).yaml(), "reloaded "))
        << proxy.stderr_text();
    EXPECT_NE(proxy.stderr_text().find("reload: applying despite 1 error(s) in the timeout chain "
                                       "(--allow-chain-errors)"),
              std::string::npos)
        << proxy.stderr_text();
    EXPECT_EQ(http_get(proxy.port(), "/").status, 200);
}

TEST(timeout_chain, a_routes_server_timeout_applies_to_that_route_only)
{
    scripted_backend app{{.reply_after = 600ms}};
    sluice_process proxy{
        config_for(app)
            .route("{ path_prefix: /fast }", "app\n        timeouts: { server: 200ms }")
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
