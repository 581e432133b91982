// The test tools against each other, without the proxy: if these fail, no other integration
// test result means anything.

#include "support/http_client.hpp"
#include "support/json_line.hpp"
#include "support/scripted_backend.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <thread>

namespace sluice::test {
namespace {

TEST(support, backend_answers_and_records_the_request)
{
    scripted_backend app{{.name = "a"}};
    auto r = request(
        app.port(),
        {.method = "POST", .path = "/x?y=1", .headers = {{"X-T", "1"}}, .body = "hello"});
    ASSERT_EQ(r.error, "");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "hello from backend");
    EXPECT_EQ(r.headers.value("x-served-by"), "a");
    auto seen = app.requests();
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].method, "POST");
    EXPECT_EQ(seen[0].target, "/x?y=1");
    EXPECT_EQ(seen[0].headers.value("x-t"), "1");
    EXPECT_EQ(seen[0].body, "hello");
}

TEST(support, keep_alive_connection_carries_several_requests)
{
    scripted_backend app;
    connection c{app.port()};
    for (int i = 0; i < 5; ++i)
        EXPECT_EQ(c.send({.path = std::string("/").append(std::to_string(i))}).status, 200);
    EXPECT_EQ(app.connections_accepted(), 1u);
    EXPECT_EQ(app.request_count(), 5u);
}

TEST(support, backend_closes_idle_keep_alive_connections_after_keepalive_timeout)
{
    scripted_backend idle_close{{.keepalive_timeout = 100ms}},
        close_each{{.keepalive_timeout = 0ms}};
    connection a{idle_close.port()}, b{close_each.port()};
    EXPECT_EQ(a.send({}).status, 200);
    EXPECT_TRUE(a.wait_closed(2s));
    auto r = b.send({});
    EXPECT_EQ(r.headers.value("Connection"), "close");
    EXPECT_TRUE(b.wait_closed(2s));
}

TEST(support, chunked_and_generated_bodies_arrive_intact_both_ways)
{
    scripted_backend app{{.chunked = true, .response_size = 3'000'000}};
    auto r = request(
        app.port(),
        {.method = "PUT", .generated_body_size = 2'000'001, .chunked = true, .keep_body = false});
    ASSERT_EQ(r.error, "");
    EXPECT_EQ(r.body_size, 3'000'000u);
    EXPECT_TRUE(r.body_matches_pattern);
    EXPECT_EQ(r.headers.value("Transfer-Encoding"), "chunked");
    auto seen = app.requests().at(0);
    EXPECT_EQ(seen.body_size, 2'000'001u);
    EXPECT_TRUE(seen.body_matches_pattern);
}

TEST(support, expect_continue_gets_100_before_the_body)
{
    scripted_backend app;
    auto r = request(app.port(), {.method = "POST", .body = "abc", .expect_continue = true});
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.interim, std::vector<int>{100});
    EXPECT_EQ(app.requests().at(0).body, "abc");
}

TEST(support, workers_bound_concurrent_requests)
{
    scripted_backend app{{.workers = 1, .reply_after = 100ms}};
    auto a = http_get_async(app.port());
    auto b = http_get_async(app.port());
    EXPECT_EQ(a.get().status, 200);
    EXPECT_EQ(b.get().status, 200);
    EXPECT_EQ(app.max_concurrent_requests(), 2u);  // both arrived; one waited for the worker
}

TEST(support, closed_client_is_counted_as_abandoned)
{
    scripted_backend app{{.reply_after = 5s}};
    {
        connection c{app.port()};
        c.send_raw("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        ASSERT_TRUE(app.wait_for_requests(1));
    }
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (app.abandoned_requests() == 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(5ms);
    EXPECT_EQ(app.abandoned_requests(), 1u);
}

TEST(support, raw_reply_and_echo_tunnel)
{
    scripted_backend garbage{{.raw_reply = std::string("\x01\x02garbage")}};
    EXPECT_EQ(raw_exchange(garbage.port(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n"), "\x01\x02garbage");

    scripted_backend ws{{.handler = [](const recorded_request&) {
        return reply{.status = 101,
                     .headers = {{"Upgrade", "websocket"}, {"Connection", "Upgrade"}},
                     .echo = true};
    }}};
    connection c{ws.port()};
    auto r = c.send({.headers = {{"Upgrade", "websocket"}, {"Connection", "Upgrade"}}});
    EXPECT_EQ(r.status, 101);
    c.send_raw("ping");
    EXPECT_EQ(c.read_some(300ms), "ping");
}

TEST(support, unix_socket_backend)
{
    std::string path = "/tmp/sluice-support-" + std::to_string(::getpid()) + ".sock";
    scripted_backend app{{.unix_path = path}};
    EXPECT_EQ(app.address(), "unix:" + path);
    EXPECT_EQ(http_get(target::unix_socket(path)).status, 200);
}

TEST(support, json_line_reads_flat_objects)
{
    auto j = json_line::parse(R"({"a":"x\"y","n":12.5,"z":null,"o":{"k":[1,2]},"b":true})");
    ASSERT_TRUE(j);
    EXPECT_EQ((*j)["a"], "x\"y");
    EXPECT_EQ(j->number("n"), 12.5);
    EXPECT_EQ((*j)["z"], "null");
    EXPECT_EQ((*j)["o"], R"({"k":[1,2]})");
    EXPECT_EQ((*j)["b"], "true");
    EXPECT_TRUE(std::isnan(j->number("a")));
    EXPECT_FALSE(json_line::parse("not json"));
}

}  // namespace
}  // namespace sluice::test
