// `protocol: uwsgi` end to end against a uwsgi-speaking backend, over TCP and a unix socket, and
// the protocol mismatches an operator makes: an http backend that is really a uWSGI socket, and a
// uwsgi backend that answers garbage. Each ends in a 502 and a log line saying what to change.

#include "integration/polling.hpp"
#include "support/http_client.hpp"
#include "support/proxy_config.hpp"
#include "support/scripted_backend.hpp"
#include "support/sluice_process.hpp"
#include "support/uwsgi_backend.hpp"

#include <gtest/gtest.h>

namespace sluice::test {
namespace {

proxy_config uwsgi_config(const std::string& address)
{
    return proxy_config{}.backend("app", {address}, {"protocol: uwsgi"});
}

TEST(uwsgi, a_get_is_served_through_a_uwsgi_packet)
{
    uwsgi_backend app;
    sluice_process proxy{uwsgi_config(app.address())};
    auto r = http_get(proxy.port(), "/hello%20there?x=1", {{"X-Request-Id", "abc-1"}});
    EXPECT_EQ(r.status, 200) << r.error;
    EXPECT_EQ(r.body, "GET /hello there\n");
    const auto seen = app.requests();
    ASSERT_EQ(seen.size(), 1u);
    const auto& vars = seen[0].vars;
    EXPECT_EQ(vars.value("QUERY_STRING"), "x=1");
    EXPECT_EQ(vars.value("REQUEST_URI"), "/hello%20there?x=1");
    EXPECT_EQ(vars.value("REMOTE_ADDR"), "127.0.0.1");
    EXPECT_EQ(vars.value("SERVER_PORT"), std::to_string(proxy.port()));
    EXPECT_EQ(vars.value("HTTP_X_REQUEST_ID"), "abc-1");
    EXPECT_EQ(vars.value("HTTP_X_FORWARDED_FOR"), "127.0.0.1");
    EXPECT_GT(std::stol(vars.value("HTTP_X_REQUEST_TIMEOUT_MS")), 0);
    EXPECT_FALSE(vars.contains("HTTP_CONNECTION"));
}

TEST(uwsgi, a_keep_alive_client_gets_a_new_uwsgi_connection_per_request)
{
    uwsgi_backend app;
    sluice_process proxy{uwsgi_config(app.address())};
    connection client{proxy.port()};
    for (int i = 0; i < 3; ++i) {
        auto r = client.send({.path = "/n" + std::to_string(i)});
        EXPECT_EQ(r.status, 200) << r.error;
        EXPECT_EQ(r.body, "GET /n" + std::to_string(i) + "\n");
    }
    EXPECT_EQ(app.connections_accepted(), 3u);
}

TEST(uwsgi, a_body_with_content_length_streams_after_the_packet_over_a_unix_socket)
{
    temp_dir dir;
    uwsgi_backend app{{.unix_path = dir.file("app.sock")}};
    sluice_process proxy{uwsgi_config(app.address())};
    auto r = request(
        proxy.port(),
        {.method = "POST", .path = "/up", .generated_body_size = 300 * 1024, .keep_body = false});
    EXPECT_EQ(r.status, 200) << r.error;
    ASSERT_TRUE(app.wait_for_requests(1));
    const auto seen = app.requests()[0];
    EXPECT_EQ(seen.vars.value("CONTENT_LENGTH"), std::to_string(300 * 1024));
    EXPECT_EQ(seen.body_size, 300u * 1024);
    EXPECT_EQ(r.body_size, std::string("POST /up\n").size() + 300 * 1024);
}

TEST(uwsgi, a_chunked_body_is_read_whole_and_sent_with_its_length)
{
    uwsgi_backend app;
    sluice_process proxy{uwsgi_config(app.address())};
    auto r = request(proxy.port(),
                     {.method = "PUT", .path = "/doc", .body = "chunked body", .chunked = true});
    EXPECT_EQ(r.status, 200) << r.error;
    EXPECT_EQ(r.body, "PUT /doc\nchunked body");
    const auto seen = app.requests();
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].vars.value("CONTENT_LENGTH"), "12");
    EXPECT_FALSE(seen[0].vars.contains("HTTP_TRANSFER_ENCODING"));
}

TEST(uwsgi, a_chunked_body_of_several_mebibytes_is_spooled_and_sent_with_its_length)
{
    uwsgi_backend app;
    sluice_process proxy{proxy_config{}.backend("app", {app.address()},
                                                {"protocol: uwsgi", "buffering: { memory: 64k }"})};
    auto r = request(
        proxy.port(),
        {.method = "POST", .generated_body_size = 3 * mib, .chunked = true, .keep_body = false});
    EXPECT_EQ(r.status, 200) << r.error;
    ASSERT_TRUE(app.wait_for_requests(1));
    const auto seen = app.requests()[0];
    EXPECT_EQ(seen.vars.value("CONTENT_LENGTH"), std::to_string(3 * mib));
    EXPECT_EQ(seen.body_size, 3u * mib);
    EXPECT_FALSE(seen.vars.contains("HTTP_TRANSFER_ENCODING"));
}

TEST(uwsgi, a_chunked_body_over_max_spool_is_answered_413_and_never_reaches_the_app)
{
    uwsgi_backend app;
    sluice_process proxy{proxy_config{}.backend(
        "app", {app.address()}, {"protocol: uwsgi", "buffering: { memory: 64k, max_spool: 1m }"})};
    auto r = request(proxy.port(),
                     {.method = "POST", .generated_body_size = 2 * mib, .chunked = true});
    EXPECT_EQ(r.status, 413) << r.error;
    EXPECT_EQ(app.request_count(), 0u);
    auto log = proxy.wait_access_log(1);
    ASSERT_EQ(log.size(), 1u);
    EXPECT_EQ(log[0]["reason"], "body_too_large");
}

TEST(uwsgi, a_uwsgi_socket_behind_protocol_http_answers_502_with_the_hint)
{
    uwsgi_backend app;
    sluice_process proxy{proxy_config{}.backend("app", {app.address()})};
    auto r = http_get(proxy.port(), "/");
    EXPECT_EQ(r.status, 502) << r.error;
    EXPECT_GE(app.malformed_packets(), 1u);
    EXPECT_TRUE(proxy.wait_stderr("set `protocol: uwsgi`")) << proxy.stderr_text();
    EXPECT_NE(proxy.stderr_text().find("closed the connection at once without answering"),
              std::string::npos);
    EXPECT_NE(r.body.find("protocol: uwsgi"), std::string::npos) << r.body;
    auto log = proxy.wait_access_log(1);
    ASSERT_EQ(log.size(), 1u);
    EXPECT_EQ(log[0]["reason"], "protocol_mismatch");
    EXPECT_EQ(log[0]["retries"], "0");
}

// Once the checks have marked it down, requests wait for a slot that never comes: their 503 says
// why, with the hint, instead of a bare queue timeout.
TEST(uwsgi, a_queue_timeout_with_every_server_down_says_why_with_the_hint)
{
    uwsgi_backend app;
    sluice_process proxy{
        proxy_config{}
            .backend("app", {app.address()},
                     {"health: { http: { path: /healthz }, interval: 100ms, timeout: 90ms, "
                      "rise: 1, fall: 1 }"})
            .timeout("queue", "300ms")};
    ASSERT_TRUE(proxy.wait_stderr("up -> down")) << proxy.stderr_text();
    auto r = http_get(proxy.port(), "/");
    EXPECT_EQ(r.status, 503) << r.error;
    EXPECT_NE(r.body.find("every server is down"), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("protocol: uwsgi"), std::string::npos) << r.body;
    EXPECT_EQ(app.request_count(), 0u);
}

TEST(uwsgi, an_http_server_answering_bytes_that_are_not_http_gets_the_hint)
{
    scripted_backend app{{.raw_reply = std::string("\x00\x10\x00\x00garbage!", 12)}};
    sluice_process proxy{config_for(app)};
    EXPECT_EQ(http_get(proxy.port(), "/").status, 502);
    EXPECT_TRUE(proxy.wait_stderr("set `protocol: uwsgi`")) << proxy.stderr_text();
    EXPECT_NE(proxy.stderr_text().find("\\x00\\x10"), std::string::npos) << proxy.stderr_text();
}

TEST(uwsgi, a_uwsgi_backend_answering_garbage_answers_502_protocol_mismatch)
{
    uwsgi_backend app{{.handler = [](const uwsgi_request&) { return std::string("garbage\r\n"); }}};
    sluice_process proxy{uwsgi_config(app.address())};
    auto r = http_get(proxy.port(), "/");
    EXPECT_EQ(r.status, 502) << r.error;
    auto log = proxy.wait_access_log(1);
    ASSERT_EQ(log.size(), 1u);
    EXPECT_EQ(log[0]["reason"], "protocol_mismatch") << log[0].text();
    EXPECT_TRUE(proxy.wait_stderr("answered \"garbage")) << proxy.stderr_text();
    EXPECT_NE(proxy.stderr_text().find("set `protocol: http`"), std::string::npos);
    EXPECT_EQ(proxy.wait_metric(
                  R"(sluice_upstream_errors_total{backend="app",server="app1",kind="protocol"})",
                  1),
              1);
}

}  // namespace
}  // namespace sluice::test
