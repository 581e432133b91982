// What a client sees of the core proxying: requests and bodies relayed intact, connections
// reused on both sides, forwarding headers set, hop-by-hop headers gone, routes and balancing,
// one access-log line per request, and upgraded tunnels.

#include "support/http_client.hpp"
#include "support/proxy_config.hpp"
#include "support/scripted_backend.hpp"
#include "support/sluice_process.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include <sys/socket.h>

namespace sluice::test {
namespace {

TEST(proxying, get_and_post_reach_the_backend_and_its_answer_comes_back)
{
    scripted_backend app;
    sluice_process proxy{config_for(app)};
    auto get = http_get(proxy.port(), "/hello?x=1");
    EXPECT_EQ(get.status, 200) << get.error;
    EXPECT_EQ(get.body, "hello from backend");
    auto post = request(proxy.port(), {.method = "POST", .path = "/form", .body = "a=1&b=2"});
    EXPECT_EQ(post.status, 200) << post.error;
    auto seen = app.requests();
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0].method, "GET");
    EXPECT_EQ(seen[0].target, "/hello?x=1");
    EXPECT_EQ(seen[1].method, "POST");
    EXPECT_EQ(seen[1].body, "a=1&b=2");
}

TEST(proxying, many_requests_share_one_client_connection_and_fewer_backend_connections)
{
    scripted_backend app;
    sluice_process proxy{config_for(app)};
    connection client{proxy.port()};
    for (int i = 0; i < 20; ++i) {
        auto r = client.send({.path = std::string("/").append(std::to_string(i))});
        ASSERT_EQ(r.status, 200) << "request " << i << ": " << r.error;
    }
    EXPECT_FALSE(client.peer_closed());
    EXPECT_EQ(app.request_count(), 20u);
    EXPECT_LE(app.connections_accepted(), 2u);
}

// A client in steady keep-alive use that sends its last request and its FIN together is
// answered and closed at once: the FIN behind the request's bytes is not taken for an empty
// socket (net/read_readiness.hpp), which would leave the connection open for the hot wait (1 s).
TEST(proxying, a_fin_right_behind_a_request_closes_the_connection_at_once)
{
    scripted_backend app;
    sluice_process proxy{config_for(app)};
    connection client{proxy.port()};
    for (int i = 0; i < 3; ++i) ASSERT_EQ(client.send({}).status, 200);
    ASSERT_TRUE(client.send_raw("GET /last HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    ::shutdown(client.stream()->fd(), SHUT_WR);
    EXPECT_EQ(client.read_response().status, 200);
    const auto answered = std::chrono::steady_clock::now();
    EXPECT_TRUE(client.wait_closed(5s));
    EXPECT_LT(std::chrono::steady_clock::now() - answered, 500ms);
}

// A pipelining client: the second request arrives while the first is read, parsed or relayed
// (net/read_readiness must not take a socket for empty when bytes came after its last read). Each
// pair is answered in order, with no wait for a timeout.
TEST(proxying, pipelined_requests_in_separate_writes_are_all_answered)
{
    scripted_backend app;
    sluice_process proxy{config_for(app)};
    connection client{proxy.port()};
    for (int i = 0; i < 200; ++i) {
        const auto first = "GET /a" + std::to_string(i) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
        const auto second = "GET /b" + std::to_string(i) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
        ASSERT_TRUE(client.send_raw(first));
        if (i % 4) std::this_thread::sleep_for(std::chrono::microseconds(25 * (i % 8)));
        ASSERT_TRUE(client.send_raw(second));
        const auto a = client.read_response(false, true, 5s);
        const auto b = client.read_response(false, true, 5s);
        ASSERT_EQ(a.status, 200) << i << " " << a.error;
        ASSERT_EQ(b.status, 200) << i << " " << b.error;
    }
    EXPECT_EQ(app.request_count(), 400u);
}

TEST(proxying, pooled_backend_connections_are_reused_across_client_connections)
{
    scripted_backend app;
    sluice_process proxy{config_for(app)};
    for (int i = 0; i < 10; ++i) EXPECT_EQ(http_get(proxy.port()).status, 200);
    EXPECT_EQ(app.request_count(), 10u);
    EXPECT_LE(app.connections_accepted(), 3u);  // at most one per event-loop thread, plus slack
}

TEST(proxying, head_and_bodiless_statuses_carry_no_body)
{
    scripted_backend app{{.handler = [](const recorded_request& r) {
        if (r.target == "/204") return reply{.status = 204};
        if (r.target == "/304") return reply{.status = 304, .headers = {{"ETag", "\"v1\""}}};
        return reply{.body = "twelve bytes"};
    }}};
    sluice_process proxy{config_for(app)};
    connection client{proxy.port()};
    auto head = client.send({.method = "HEAD"});
    EXPECT_EQ(head.status, 200) << head.error;
    EXPECT_EQ(head.headers.value("Content-Length"), "12");
    auto no_content = client.send({.path = "/204"});
    EXPECT_EQ(no_content.status, 204) << no_content.error;
    auto not_modified = client.send({.path = "/304"});
    EXPECT_EQ(not_modified.status, 304) << not_modified.error;
    EXPECT_EQ(not_modified.headers.value("ETag"), "\"v1\"");
    // A stray body byte after any of them would corrupt this response.
    auto after = client.send({});
    EXPECT_EQ(after.status, 200) << after.error;
    EXPECT_EQ(after.body, "twelve bytes");
}

TEST(proxying, expect_100_continue_gets_the_body_through)
{
    scripted_backend app;
    sluice_process proxy{config_for(app)};
    auto r = request(proxy.port(),
                     {.method = "POST", .body = "payload", .expect_continue = true, .timeout = 5s});
    EXPECT_EQ(r.status, 200) << r.error;
    EXPECT_EQ(r.interim, std::vector<int>{100});
    ASSERT_EQ(app.request_count(), 1u);
    EXPECT_EQ(app.requests()[0].body, "payload");
}

// Samples the proxy's RSS while `transfer` runs; returns the growth over the starting value.
long rss_growth_kib(const sluice_process& proxy, const std::function<void()>& transfer)
{
    long start = proxy.rss_kib();
    std::atomic<long> peak = start;
    std::atomic<bool> done = false;
    std::thread sampler{[&] {
        while (!done) {
            peak = std::max(peak.load(), proxy.rss_kib());
            std::this_thread::sleep_for(10ms);
        }
    }};
    transfer();
    done = true;
    sampler.join();
    return peak - start;
}

TEST(proxying, large_download_streams_in_bounded_memory)
{
    scripted_backend app{{.handler = [](const recorded_request& r) {
        return r.target == "/warm" ? reply{.body = "warm"} : reply{.generated_size = 200 * mib};
    }}};
    sluice_process proxy{config_for(app)};
    ASSERT_EQ(http_get(proxy.port(), "/warm").status, 200);
    response r;
    auto growth = rss_growth_kib(proxy, [&] {
        r = request(proxy.port(), {.path = "/big", .keep_body = false});
    });
    EXPECT_EQ(r.status, 200) << r.error;
    EXPECT_EQ(r.body_size, 200 * mib);
    EXPECT_TRUE(r.body_matches_pattern);
    EXPECT_LT(growth, 16 * 1024) << "RSS grew by " << growth << " KiB";
}

TEST(proxying, large_upload_streams_in_bounded_memory)
{
    scripted_backend app;
    sluice_process proxy{config_for(app).limits("{ max_body: 300m }")};
    ASSERT_EQ(http_get(proxy.port(), "/warm").status, 200);
    response r;
    auto growth = rss_growth_kib(proxy, [&] {
        r = request(proxy.port(), {.method = "PUT", .generated_body_size = 200 * mib});
    });
    EXPECT_EQ(r.status, 200) << r.error;
    auto seen = app.requests().at(1);
    EXPECT_EQ(seen.body_size, 200 * mib);
    EXPECT_TRUE(seen.body_matches_pattern);
    EXPECT_LT(growth, 16 * 1024) << "RSS grew by " << growth << " KiB";
}

TEST(proxying, unix_socket_listener_and_unix_socket_backend)
{
    temp_dir sockets;
    scripted_backend app{{.unix_path = sockets.file("app.sock")}};
    sluice_process proxy{config_for(app).bind("unix:{dir}/web.sock")};
    ASSERT_TRUE(proxy.wait_stderr("listening on unix:"));
    auto r = http_get(target::unix_socket(proxy.dir().file("web.sock")), "/via-unix");
    EXPECT_EQ(r.status, 200) << r.error;
    EXPECT_EQ(r.body, "hello from backend");
    ASSERT_EQ(app.request_count(), 1u);
    EXPECT_EQ(app.requests()[0].target, "/via-unix");
}

TEST(proxying, backend_sees_forwarding_headers_and_a_request_id)
{
    scripted_backend app;
    sluice_process proxy{config_for(app).listener_option("trusted_proxies: [127.0.0.0/8]")};
    ASSERT_EQ(http_get(proxy.port(), "/").status, 200);
    ASSERT_EQ(http_get(proxy.port(), "/",
                       {{"X-Request-Id", "client-chosen-42"}, {"X-Forwarded-For", "10.1.2.3"}})
                  .status,
              200);
    auto seen = app.requests();
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0].headers.value("X-Forwarded-For"), "127.0.0.1");
    EXPECT_EQ(seen[0].headers.value("X-Forwarded-Proto"), "http");
    EXPECT_EQ(seen[0].headers.value("Via").rfind("1.1 ", 0), 0u) << seen[0].headers.value("Via");
    EXPECT_FALSE(seen[0].headers.value("X-Request-Id").empty());
    EXPECT_EQ(seen[1].headers.value("X-Request-Id"), "client-chosen-42");
    std::string chain;
    for (const auto& [name, value] : seen[1].headers.fields())
        if (iequals(name, "X-Forwarded-For")) chain += (chain.empty() ? "" : ", ") + value;
    EXPECT_EQ(chain, "10.1.2.3, 127.0.0.1");
}

// Without trusted_proxies no client is trusted: what it says in X-Forwarded-For and
// X-Forwarded-Proto is replaced by what the proxy saw.
TEST(proxying, an_untrusted_client_cannot_pass_off_an_address_or_https)
{
    scripted_backend app;
    sluice_process proxy{config_for(app).listener_option("trusted_proxies: [10.0.0.0/8]")};
    ASSERT_EQ(http_get(proxy.port(), "/",
                       {{"X-Forwarded-For", "10.1.2.3"}, {"X-Forwarded-Proto", "https"}})
                  .status,
              200);
    auto seen = app.requests();
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].headers.value("X-Forwarded-For"), "127.0.0.1");
    EXPECT_EQ(seen[0].headers.value("X-Forwarded-Proto"), "http");
}

// A small body is sent with its head once it is whole: a server that stops in the middle of one
// leaves the client with a 502, not with a connection closed on it without a word.
TEST(proxying, small_response_cut_short_by_the_server_answers_502)
{
    scripted_backend app{
        {.raw_reply = "HTTP/1.1 200 OK\r\nContent-Length: 8000\r\n\r\n" + std::string(3000, 'x')}};
    sluice_process proxy{config_for(app)};
    auto r = http_get(proxy.port(), "/");
    EXPECT_EQ(r.status, 502) << r.error;
    auto log = proxy.wait_access_log(1);
    ASSERT_EQ(log.size(), 1u) << proxy.stderr_text();
    EXPECT_EQ(log[0]["reason"], "server_reset") << log[0].text();
    EXPECT_EQ(log[0]["status"], "502") << log[0].text();
}

TEST(proxying, hop_by_hop_headers_are_stripped_both_ways)
{
    scripted_backend app{{.handler = [](const recorded_request&) {
        return reply{.headers = {{"Connection", "X-Backend-Private"},
                                 {"X-Backend-Private", "1"},
                                 {"Keep-Alive", "timeout=5"},
                                 {"X-Backend-Public", "1"}},
                     .body = "ok"};
    }}};
    sluice_process proxy{config_for(app)};
    auto r = http_get(proxy.port(), "/",
                      {{"Connection", "keep-alive, X-Private"},
                       {"X-Private", "secret"},
                       {"Keep-Alive", "timeout=5"},
                       {"Proxy-Connection", "keep-alive"},
                       {"TE", "trailers"},
                       {"Upgrade", "h2c"},
                       {"X-Public", "1"}});
    EXPECT_EQ(r.status, 200) << r.error;
    EXPECT_FALSE(r.headers.contains("X-Backend-Private"));
    EXPECT_FALSE(r.headers.contains("Keep-Alive"));
    EXPECT_TRUE(r.headers.contains("X-Backend-Public"));
    ASSERT_EQ(app.request_count(), 1u);
    auto seen = app.requests()[0].headers;
    for (auto name : {"X-Private", "Keep-Alive", "Proxy-Connection", "TE", "Upgrade"})
        EXPECT_FALSE(seen.contains(name)) << name << ": " << seen.value(name);
    EXPECT_FALSE(seen.value("Connection").find("X-Private") != std::string::npos);
    EXPECT_EQ(seen.value("X-Public"), "1");
}

TEST(proxying, first_matching_route_picks_the_backend)
{
    scripted_backend web{{.name = "web"}}, api{{.name = "api"}}, ops{{.name = "ops"}};
    auto cfg = config_for(web);
    cfg.backend("api", {api.address()})
        .backend("ops", {ops.address()})
        .route("{ path_prefix: /api }", "api")
        .route("{ host: ops.example.com }", "ops")
        .route("{ method: POST, path_prefix: /api }", "ops")  // shadowed by the first route
        .route("{ method: DELETE }", "ops");
    sluice_process proxy{cfg};
    auto served_by = [&](request_options r) {
        auto answer = request(proxy.port(), r);
        return answer.headers.value("X-Served-By") +
               (answer.error.empty() ? "" : " " + answer.error);
    };
    EXPECT_EQ(served_by({.path = "/"}), "web");
    EXPECT_EQ(served_by({.path = "/api/users"}), "api");
    EXPECT_EQ(served_by({.method = "POST", .path = "/api/users", .body = "x"}), "api");
    EXPECT_EQ(served_by({.path = "/", .headers = {{"Host", "ops.example.com"}}}), "ops");
    EXPECT_EQ(served_by({.path = "/", .headers = {{"Host", "OPS.example.com:8080"}}}), "ops");
    EXPECT_EQ(served_by({.path = "/", .headers = {{"Host", "other.example.com"}}}), "web");
    EXPECT_EQ(served_by({.method = "DELETE", .path = "/item/1"}), "ops");
}

TEST(proxying, roundrobin_spreads_requests_over_both_servers)
{
    scripted_backend one{{.name = "one"}}, two{{.name = "two"}};
    proxy_config cfg;
    cfg.backend("app", {one.address(), two.address()}, {"balance: roundrobin"});
    sluice_process proxy{cfg};
    for (int i = 0; i < 10; ++i) ASSERT_EQ(http_get(proxy.port()).status, 200);
    EXPECT_GE(one.request_count(), 4u);
    EXPECT_GE(two.request_count(), 4u);
    EXPECT_EQ(one.request_count() + two.request_count(), 10u);
}

TEST(proxying, access_log_has_one_line_per_request_with_the_spec_fields)
{
    scripted_backend app;
    sluice_process proxy{config_for(app)};
    ASSERT_EQ(http_get(proxy.port(), "/a", {{"X-Request-Id", "rid-1"}}).status, 200);
    ASSERT_EQ(request(proxy.port(), {.method = "POST", .path = "/b", .body = "12345"}).status, 200);
    auto log = proxy.wait_access_log(2);
    ASSERT_EQ(log.size(), 2u) << proxy.stderr_text();
    for (const auto& line : log)
        for (auto field : {"time", "request_id", "client", "listener", "method", "path", "status",
                           "backend", "server", "queue_ms", "connect_ms", "response_ms", "total_ms",
                           "bytes_in", "bytes_out", "retries", "reason"})
            EXPECT_TRUE(line.has(field)) << field << " missing in " << line.text();
    EXPECT_EQ(log[0]["request_id"], "rid-1");
    EXPECT_EQ(log[0]["path"], "/a");
    EXPECT_EQ(log[0]["method"], "GET");
    EXPECT_EQ(log[0].number("status"), 200);
    EXPECT_EQ(log[0]["listener"], "web");
    EXPECT_EQ(log[0]["backend"], "app");
    EXPECT_EQ(log[0]["server"], "app1");
    EXPECT_GT(log[0].number("bytes_out"), 0);
    EXPECT_EQ(log[1]["method"], "POST");
    EXPECT_EQ(log[1]["request_id"], app.requests().at(1).headers.value("X-Request-Id"));
    EXPECT_EQ(proxy.wait_metric(R"(sluice_requests_total{code="200",backend="app",listener="web"})",
                                2),
              2);
}

TEST(proxying, upgrade_tunnel_carries_bytes_both_ways_after_101)
{
    scripted_backend app{{.handler = [](const recorded_request&) {
        return reply{.status = 101,
                     .headers = {{"Upgrade", "websocket"}, {"Connection", "Upgrade"}},
                     .echo = true};
    }}};
    sluice_process proxy{config_for(app)};
    connection client{proxy.port()};
    auto r = client.send({.path = "/ws",
                          .headers = {{"Upgrade", "websocket"},
                                      {"Connection", "Upgrade"},
                                      {"Sec-WebSocket-Version", "13"}}});
    ASSERT_EQ(r.status, 101) << r.error;
    EXPECT_TRUE(iequals(r.headers.value("Upgrade"), "websocket"));
    EXPECT_EQ(app.requests().at(0).headers.value("Upgrade"), "websocket");
    for (const std::string& message :
         std::vector<std::string>{"ping", "second message", std::string(100'000, 'x')}) {
        ASSERT_TRUE(client.send_raw(message));
        EXPECT_EQ(client.read_at_least(message.size()), message);
    }
}

// io_uring: off is the path every read and send takes where the kernel refuses a ring: it must
// serve the same, and the log must say which path a process took.
TEST(proxying, with_io_uring_off_requests_go_as_with_the_ring)
{
    scripted_backend app;
    sluice_process proxy{config_for(app).top_level("io_uring: off")};
    connection client{proxy.port()};
    for (int i = 0; i < 20; ++i) {
        auto r = client.send({.path = "/" + std::to_string(i)});
        ASSERT_EQ(r.status, 200) << "request " << i << ": " << r.error;
    }
    auto post = client.send({.method = "POST", .path = "/form", .body = std::string(40000, 'b')});
    EXPECT_EQ(post.status, 200) << post.error;
    ASSERT_EQ(app.requests().size(), 21u);
    EXPECT_EQ(app.requests().back().body.size(), 40000u);
    EXPECT_EQ(proxy.stderr_text().find("io_uring:"), std::string::npos) << proxy.stderr_text();
}

TEST(proxying, the_log_says_whether_reads_and_sends_go_through_io_uring)
{
    scripted_backend app;
    sluice_process proxy{config_for(app)};
    EXPECT_EQ(http_get(proxy.port(), "/").status, 200);
    EXPECT_TRUE(proxy.wait_stderr("io_uring: ")) << proxy.stderr_text();
}

}  // namespace
}  // namespace sluice::test
