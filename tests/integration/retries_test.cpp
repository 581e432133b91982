// Retries as SPEC.md "Retries" has them, against real sockets: the free retry of a stale pooled
// connection (the keep-alive seed scenario), a connect failure retried on another server, and
// the unsafe case, a POST whose body was sent, never retried.

#include "integration/polling.hpp"
#include "support/http_client.hpp"
#include "support/proxy_config.hpp"
#include "support/scripted_backend.hpp"
#include "support/sluice_process.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <set>

namespace sluice::test {
namespace {

const std::string stale_retries =
    R"(sluice_retries_total{backend="app",reason="stale_connection"})";

// The seed scenario, scaled down: the app closes idle keep-alive connections after 100 ms (its
// own keepalive_timeout, undeclared), the pool would keep them 20 s. Each request comes right
// after the app closed the previous connection, within the pool's 250 ms no-check window: the
// event loop has heard the close, so the request goes out on a new connection.
TEST(retries, a_pool_outliving_the_apps_keep_alive_loses_no_request)
{
    scripted_backend app{{.keepalive_timeout = 100ms}};
    sluice_process proxy{
        proxy_config{}.backend("app", {app.address()}, {"keepalive: { idle_timeout: 20s }"})};
    connection client{proxy.port()};
    ASSERT_EQ(client.send({.path = "/0"}).status, 200);
    for (int i = 1; i <= 5; ++i) {
        ASSERT_TRUE(eventually([&] { return app.open_connections() == 0; }, 5s));
        auto r = client.send({.path = "/" + std::to_string(i)});
        EXPECT_EQ(r.status, 200) << r.error;
    }
    EXPECT_EQ(app.request_count(), 6u);
    EXPECT_EQ(app.connections_accepted(), 6u);
    auto log = proxy.wait_access_log(6);
    ASSERT_EQ(log.size(), 6u);
    for (const auto& line : log) EXPECT_NE(line["status"], "502") << line.text();
}

// The close the event loop has not heard yet: it crosses the request on the wire. Played here by
// an app that closes a reused connection, unanswered, when the request arrives: to the proxy the
// same empty answer on a reused connection, retried once for free on a new one, and the operator
// told what a steady rate of it means.
TEST(retries, a_reused_connection_closed_unanswered_has_its_request_retried_on_a_new_one)
{
    struct connections_seen {
        std::mutex mutex;
        std::set<std::size_t> ids;
    };
    auto seen = std::make_shared<connections_seen>();
    // Each connection's first request is answered; any later one is met with a close.
    scripted_backend app{{.handler = [seen](const recorded_request& r) {
        std::lock_guard lock{seen->mutex};
        return reply{.body = "ok", .silent_close = !seen->ids.insert(r.connection).second};
    }}};
    sluice_process proxy{proxy_config{}.backend("app", {app.address()})};
    connection client{proxy.port()};
    for (int i = 0; i < 3; ++i) {
        auto r = client.send({.path = "/" + std::to_string(i)});
        EXPECT_EQ(r.status, 200) << r.error;
        EXPECT_EQ(r.body, "ok");
    }
    EXPECT_EQ(app.connections_accepted(), 3u);
    auto retried = proxy.metric(stale_retries);
    ASSERT_TRUE(retried) << "no stale connection was ever retried";
    EXPECT_EQ(*retried, 2);
    EXPECT_TRUE(proxy.wait_stderr("the pool outlives the server's keep-alive"))
        << proxy.stderr_text();
}

TEST(retries, a_connect_failure_is_retried_on_another_server)
{
    scripted_backend live;
    proxy_config cfg;
    cfg.backend("app", {"unix:{dir}/nobody-listens.sock", live.address()}, {"balance: roundrobin"});
    sluice_process proxy{cfg};
    for (int i = 0; i < 4; ++i) {
        auto r = http_get(proxy.port(), "/");
        EXPECT_EQ(r.status, 200) << r.error;
    }
    EXPECT_EQ(live.request_count(), 4u);
    EXPECT_GE(
        proxy.metric(R"(sluice_retries_total{backend="app",reason="connect_failure"})").value_or(0),
        1);
    auto log = proxy.wait_access_log(4);
    ASSERT_EQ(log.size(), 4u);
    int retried = 0;
    for (const auto& line : log) {
        EXPECT_EQ(line["server"], "app2") << line.text();
        retried += line["retries"] == "1";
    }
    EXPECT_GE(retried, 1);
}

TEST(retries, retries_on_without_connect_failure_answers_502_at_once)
{
    proxy_config cfg;
    cfg.backend("app", {"unix:{dir}/nobody-listens.sock"},
                {"retries: { attempts: 3, on: [empty_response] }"});
    sluice_process proxy{cfg};
    EXPECT_EQ(http_get(proxy.port(), "/").status, 502);
    auto log = proxy.wait_access_log(1);
    ASSERT_EQ(log.size(), 1u);
    EXPECT_EQ(log[0]["reason"], "connect_failure");
    EXPECT_EQ(log[0]["retries"], "0");
}

TEST(retries, retrying_requests_do_not_wait_for_each_others_slots)
{
    proxy_config cfg;
    cfg.backend("app", {"unix:{dir}/a.sock", "unix:{dir}/b.sock"},
                {"server_defaults: { max_connections: 1 }"})
        .timeout("queue", "5s");
    sluice_process proxy{cfg};
    std::vector<std::future<response>> answers;
    for (int i = 0; i < 6; ++i) answers.push_back(http_get_async(proxy.port(), "/"));
    const auto start = steady::now();
    for (auto& a : answers) EXPECT_EQ(a.get().status, 502);
    EXPECT_LT(since(start), 3s) << "retries held slots while queueing for others";
}

// Both servers read the request head and close without a word.
class silent_servers : public ::testing::Test {
protected:
    scripted_backend a{{.raw_reply = ""}}, b{{.raw_reply = ""}};
    sluice_process proxy{config_for({&a, &b})};
    std::size_t seen() const { return a.request_count() + b.request_count(); }
};

TEST_F(silent_servers, a_post_whose_body_was_sent_is_never_retried)
{
    auto r = request(proxy.port(), {.method = "POST", .path = "/pay", .body = "amount=10"});
    EXPECT_EQ(r.status, 502) << r.error;
    auto log = proxy.wait_access_log(1);
    ASSERT_EQ(log.size(), 1u);
    EXPECT_EQ(log[0]["retries"], "0") << log[0].text();
    EXPECT_EQ(seen(), 1u);
    EXPECT_EQ(
        proxy.metric(R"(sluice_retries_total{backend="app",reason="empty_response"})").value_or(0),
        0);
}

// A new connection that carried the whole request and closed without an answer: the app may have
// run it (a worker killed, or crashed after reading), so even a GET is not sent again.
TEST_F(silent_servers, a_get_answered_by_nothing_on_a_new_connection_is_not_run_twice)
{
    auto r = http_get(proxy.port(), "/");
    EXPECT_EQ(r.status, 502) << r.error;
    auto log = proxy.wait_access_log(1);
    ASSERT_EQ(log.size(), 1u);
    EXPECT_EQ(log[0]["retries"], "0") << log[0].text();
    // At once and without a byte, as a uWSGI socket does with an HTTP request.
    EXPECT_EQ(log[0]["reason"], "protocol_mismatch");
    EXPECT_EQ(seen(), 1u);
    EXPECT_EQ(
        proxy.metric(R"(sluice_retries_total{backend="app",reason="empty_response"})").value_or(0),
        0);
}

// A server that has answered in HTTP and then closes at once without a byte crashed on that
// request: a reset, not the uWSGI-socket hint, which would send the operator the wrong way
// (found by tests/soak, whose resetting backend got 502 protocol_mismatch).
TEST(retries, a_close_at_once_from_a_server_that_answered_before_is_a_reset)
{
    scripted_backend app{{.keepalive_timeout = 0ms, .handler = [](const recorded_request& r) {
                              reply out;
                              out.silent_close = r.target == "/crash";
                              return out;
                          }}};
    sluice_process proxy{config_for({&app})};
    ASSERT_EQ(http_get(proxy.port(), "/").status, 200);
    EXPECT_EQ(http_get(proxy.port(), "/crash").status, 502);
    auto log = proxy.wait_access_log(2);
    ASSERT_EQ(log.size(), 2u);
    EXPECT_EQ(log[1]["reason"], "server_reset") << log[1].text();
    EXPECT_EQ(log[1]["retries"], "0") << log[1].text();
    EXPECT_EQ(proxy.stderr_text().find("protocol: uwsgi"), std::string::npos)
        << proxy.stderr_text();
}

// A reused connection that takes a POST's whole body and closes at once without a word looks
// like the keep-alive race, but the body is gone: sending the head again would leave the server
// waiting for a body that never comes (found by tests/soak: a 504 after the server timeout).
TEST(retries, a_post_whose_body_went_out_on_a_reused_connection_is_not_sent_again)
{
    scripted_backend app{{.handler = [](const recorded_request& r) {
        reply out;
        out.body = "ok";
        out.silent_close = r.method == "POST";
        return out;
    }}};
    sluice_process proxy{config_for({&app})};
    // One client connection: its requests run on one event-loop thread, whose pool the first
    // leaves its server connection in, just after the client has its answer.
    connection client{proxy.port()};
    ASSERT_EQ(client.send({}).status, 200);
    std::this_thread::sleep_for(100ms);
    auto r = client.send({.method = "POST", .path = "/pay", .body = std::string(20000, 'x')});
    EXPECT_EQ(r.status, 502) << r.error;
    auto log = proxy.wait_access_log(2);
    ASSERT_EQ(log.size(), 2u);
    EXPECT_EQ(log[1]["retries"], "0") << log[1].text();
    EXPECT_EQ(app.request_count(), 2u);
    EXPECT_EQ(app.requests().at(1).connection, 0u) << "the POST did not go out on the pooled "
                                                      "connection: the test proves nothing";
}

// A worker killed by its app server's own timeout (gunicorn --timeout, uWSGI harakiri) closes the
// connection at about worker_timeout: 502 worker_killed, and the app never runs it a second time.
TEST(retries, a_worker_killed_at_its_timeout_is_a_502_not_a_second_run)
{
    scripted_backend a{{.reply_after = 1s, .raw_reply = ""}};
    scripted_backend b{{.reply_after = 1s, .raw_reply = ""}};
    sluice_process proxy{proxy_config{}.backend("app", {a.address(), b.address()},
                                                {"server_defaults: { worker_timeout: 1s }"})};
    auto r = http_get(proxy.port(), "/report");
    EXPECT_EQ(r.status, 502) << r.error;
    auto log = proxy.wait_access_log(1);
    ASSERT_EQ(log.size(), 1u);
    EXPECT_EQ(log[0]["reason"], "worker_killed") << log[0].text();
    EXPECT_EQ(log[0]["retries"], "0");
    EXPECT_EQ(a.request_count() + b.request_count(), 1u);
    EXPECT_TRUE(proxy.wait_stderr("killed its worker"));
}

}  // namespace
}  // namespace sluice::test
