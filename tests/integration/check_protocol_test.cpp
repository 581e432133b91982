// Checks speak the backend's protocol (SPEC.md "Real app servers: checks, kills, truth"; issue 13
// point 4): on a `protocol: uwsgi` backend the HTTP check goes out as a uwsgi packet, and a
// check that meets the wrong protocol says what it saw and which setting to change, in the log
// line that takes the server down and in /status.

#include "integration/health_fixtures.hpp"
#include "support/uwsgi_backend.hpp"

#include <gtest/gtest.h>

namespace sluice::test {
namespace {

const std::string uwsgi_hint = "set `protocol: uwsgi` on the backend";
const std::string http_hint = "set `protocol: http` on the backend";

std::string last_check(const sluice_process& proxy, const std::string& server)
{
    return server_status(proxy, server).value_or(json_line{})["last_check"];
}

TEST(check_protocol, a_uwsgi_backend_passes_its_http_check_sent_as_a_uwsgi_packet)
{
    uwsgi_backend app;
    sluice_process proxy{proxy_config{}.backend(
        "app", {app.address()},
        {"protocol: uwsgi",
         fast_checks("rise: 1, fall: 1", "http: { path: /healthz, host: health.local }")})};
    ASSERT_TRUE(eventually_slow([&] { return proxy.metric(checks_metric("app1", "pass")) >= 3; }))
        << proxy.stderr_text();
    EXPECT_EQ(proxy.metric(checks_metric("app1", "fail")).value_or(0), 0) << proxy.stderr_text();
    EXPECT_EQ(state_of(proxy, "app1"), "up");
    EXPECT_EQ(last_check(proxy, "app1"), "check passed: 200");
    EXPECT_EQ(app.malformed_packets(), 0u);
    const auto checks = app.requests();
    ASSERT_FALSE(checks.empty());
    EXPECT_EQ(checks[0].vars.value("REQUEST_METHOD"), "GET");
    EXPECT_EQ(checks[0].vars.value("PATH_INFO"), "/healthz");
    EXPECT_EQ(checks[0].vars.value("HTTP_HOST"), "health.local");
    EXPECT_EQ(checks[0].vars.value("HTTP_USER_AGENT"), "sluice-health-check");
    EXPECT_EQ(http_get(proxy.port(), "/after").body, "GET /after\n");
}

TEST(check_protocol, a_uwsgi_socket_behind_protocol_http_fails_its_check_with_the_hint)
{
    uwsgi_backend app;
    sluice_process proxy{
        proxy_config{}.backend("app", {app.address()}, {fast_checks("rise: 1, fall: 1")})};
    ASSERT_TRUE(wait_state(proxy, "app1", "down")) << proxy.stderr_text();
    EXPECT_TRUE(proxy.wait_stderr(
        "server app/app1: up -> down (check failed: the server closed the connection without "
        "answering; if it is a uWSGI socket (`socket` / `uwsgi-socket`), " +
        uwsgi_hint + ")"))
        << proxy.stderr_text();
    EXPECT_NE(last_check(proxy, "app1").find(uwsgi_hint), std::string::npos)
        << last_check(proxy, "app1");
    EXPECT_GE(app.malformed_packets(), 1u);
}

TEST(check_protocol, an_http_backend_answering_bytes_that_are_not_http_gets_the_uwsgi_hint)
{
    scripted_backend app{{.raw_reply = std::string("\x00\x10\x00\x00garbage!", 12)}};
    sluice_process proxy{
        proxy_config{}.backend("app", {app.address()}, {fast_checks("rise: 1, fall: 1")})};
    ASSERT_TRUE(wait_state(proxy, "app1", "down")) << proxy.stderr_text();
    EXPECT_TRUE(proxy.wait_stderr(R"((check failed: answered "\x00\x10\x00\x00garbage!", which )"
                                  R"(is not an HTTP response; if it is a uWSGI socket)"))
        << proxy.stderr_text();
    EXPECT_NE(last_check(proxy, "app1").find(uwsgi_hint), std::string::npos);
}

TEST(check_protocol, a_uwsgi_backend_answering_bytes_that_are_not_http_gets_the_http_hint)
{
    uwsgi_backend app{{.handler = [](const uwsgi_request&) { return std::string("garbage\r\n"); }}};
    sluice_process proxy{proxy_config{}.backend(
        "app", {app.address()}, {"protocol: uwsgi", fast_checks("rise: 1, fall: 1")})};
    ASSERT_TRUE(wait_state(proxy, "app1", "down")) << proxy.stderr_text();
    EXPECT_TRUE(proxy.wait_stderr(R"((check failed: answered "garbage\x0d\x0a", which is not )"))
        << proxy.stderr_text();
    EXPECT_NE(last_check(proxy, "app1").find(http_hint), std::string::npos)
        << last_check(proxy, "app1");
}

}  // namespace
}  // namespace sluice::test
