// A busy server is not a dead one (SPEC.md "Real app servers: checks, kills, truth"; issue 13
// point 2): with max_connections = the worker count and requests longer than the check's
// timeout, a check waits for a worker and times out; while every slot is in use and requests
// keep being answered, that counts as result="busy" and the server stays up. The rules of the
// verdict (the window, a server silent for a whole window) are busy_timeout_test's.

#include "integration/health_fixtures.hpp"

#include <gtest/gtest.h>

namespace sluice::test {
namespace {

// One sync worker that takes 300 ms per request and answers checks at once, once it is free.
scripted_backend one_slow_worker()
{
    return scripted_backend{{.workers = 1, .handler = [](const recorded_request& r) {
                                 if (r.target != "/healthz")
                                     std::this_thread::sleep_for(300ms);  // the app's work
                                 return reply{.body = "done"};
                             }}};
}

TEST(busy_check, a_saturated_server_that_keeps_answering_stays_up_and_counts_busy)
{
    auto app = one_slow_worker();
    // fall: 1, so that before this rule one timed-out check took the server down.
    sluice_process proxy{proxy_config{}.backend(
        "app", {app.address()},
        {"server_defaults: { max_connections: 1 }",
         "health: { http: { path: /healthz }, interval: 100ms, jitter: 0%, timeout: 150ms, "
         "rise: 1, fall: 1 }"})};
    ASSERT_TRUE(eventually_slow([&] { return proxy.metric(checks_metric("app1", "pass")) >= 1; }));

    // Three clients in a loop keep the only slot taken and the queue non-empty.
    std::vector<std::future<response>> load;
    for (int round = 0; round < 5; ++round) {
        for (int client = 0; client < 3; ++client)
            load.push_back(http_get_async(proxy.port(), "/work"));
        for (auto& r : load) EXPECT_EQ(r.get().status, 200);
        load.clear();
    }

    EXPECT_GE(proxy.metric(checks_metric("app1", "busy")).value_or(0), 1) << proxy.stderr_text();
    EXPECT_EQ(proxy.metric(checks_metric("app1", "fail")).value_or(0), 0) << proxy.stderr_text();
    EXPECT_EQ(proxy.stderr_text().find("-> down"), std::string::npos) << proxy.stderr_text();
    EXPECT_EQ(state_of(proxy, "app1"), "up");
}

}  // namespace
}  // namespace sluice::test
