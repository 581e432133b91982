#include "admin/admin_server.hpp"

#include "raw_client.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using sluice::admin::admin_server;
using sluice::admin::admin_sources;
using sluice::admin::proxy_signal;
using response = http::response<http::string_body>;
using sluice::test::raw_client;
using namespace std::chrono_literals;

sluice::config::endpoint tcp_endpoint(std::uint16_t port)
{
    return {sluice::config::endpoint::kind::tcp, "127.0.0.1", port, "", ""};
}

constexpr std::string_view metrics_body = "# TYPE sluice_busy gauge\nsluice_busy 0\n";

// Sources a test can steer; the admin thread reads them, hence the atomics.
struct fake_proxy {
    std::atomic<int> signal{static_cast<int>(proxy_signal::free)};
    std::atomic<bool> live{true};
    std::atomic<bool> ready{true};

    admin_sources sources()
    {
        return {&signal, [this] { return live.load(); },
                [this] {
                    return std::pair{ready.load(), std::string("backend app: no server up")};
                },
                [] { return std::string(metrics_body); },
                [] { return std::string(R"({"backends":[]})"); }};
    }
    void set(proxy_signal s) { signal.store(static_cast<int>(s)); }
};

struct admin : ::testing::Test {
    fake_proxy proxy;
    admin_server server{tcp_endpoint(0), proxy.sources()};
    void SetUp() override { server.start(); }
    raw_client connect() { return raw_client{server.local_address()}; }
};

TEST_F(admin, local_address_names_the_real_port)
{
    auto address = server.local_address();
    ASSERT_TRUE(address.starts_with("127.0.0.1:")) << address;
    EXPECT_NE(address, "127.0.0.1:0");
}

TEST_F(admin, healthz_follows_the_signal_on_one_keep_alive_connection)
{
    struct row {
        proxy_signal signal;
        http::status status;
        std::string body;
    };
    const row rows[] = {{proxy_signal::free, http::status::ok, "free\n"},
                        {proxy_signal::busy, http::status::service_unavailable, "busy\n"},
                        {proxy_signal::draining, http::status::service_unavailable, "draining\n"},
                        {proxy_signal::free, http::status::ok, "free\n"}};
    auto c = connect();
    for (const auto& r : rows) {
        proxy.set(r.signal);
        auto res = c.get("/healthz");
        ASSERT_TRUE(res);
        EXPECT_EQ(res->result(), r.status);
        EXPECT_EQ(res->body(), r.body);
        EXPECT_TRUE(res->at(http::field::content_type).starts_with("text/plain"));
        EXPECT_EQ(res->at(http::field::cache_control), "no-store");
        EXPECT_TRUE(res->keep_alive());
    }
}

TEST_F(admin, livez_and_readyz_report_their_sources)
{
    auto c = connect();
    EXPECT_EQ(c.get("/livez")->body(), "live\n");
    EXPECT_EQ(c.get("/readyz")->body(), "ready\n");
    proxy.live = false;
    proxy.ready = false;
    auto live = c.get("/livez");
    EXPECT_EQ(live->result(), http::status::service_unavailable);
    EXPECT_EQ(live->body(), "event loops not responding\n");
    auto ready = c.get("/readyz");
    EXPECT_EQ(ready->result(), http::status::service_unavailable);
    EXPECT_EQ(ready->body(), "backend app: no server up\n");
}

TEST_F(admin, metrics_status_and_index_carry_their_bodies_and_types)
{
    auto c = connect();
    auto metrics = c.get("/metrics");
    EXPECT_EQ(metrics->result(), http::status::ok);
    EXPECT_EQ(metrics->at(http::field::content_type), "text/plain; version=0.0.4; charset=utf-8");
    EXPECT_EQ(metrics->body(), metrics_body);
    auto status = c.get("/status?verbose=1");  // a query does not change the route
    EXPECT_EQ(status->result(), http::status::ok);
    EXPECT_EQ(status->at(http::field::content_type), "application/json");
    EXPECT_EQ(status->body(), R"({"backends":[]})");
    auto index = c.get("/");
    EXPECT_EQ(index->result(), http::status::ok);
    for (auto path : {"/healthz", "/livez", "/readyz", "/metrics", "/status"})
        EXPECT_NE(index->body().find(path), std::string::npos) << path;
}

TEST_F(admin, head_answers_carry_the_length_and_no_body)
{
    auto c = connect();
    auto head = c.get("/metrics", "HEAD");
    ASSERT_TRUE(head);
    EXPECT_EQ(head->result(), http::status::ok);
    EXPECT_EQ(head->at(http::field::content_length), std::to_string(metrics_body.size()));
    // Had a body been sent, it would be parsed as the next response and fail.
    EXPECT_EQ(c.get("/healthz")->body(), "free\n");
}

TEST_F(admin, unknown_paths_are_404_and_other_methods_405)
{
    auto c = connect();
    EXPECT_EQ(c.get("/nope")->result(), http::status::not_found);
    EXPECT_EQ(c.get("/healthz/extra")->result(), http::status::not_found);
    for (auto method : {"POST", "PUT", "DELETE", "OPTIONS"}) {
        auto res = c.get("/healthz", method);
        ASSERT_TRUE(res) << method;
        EXPECT_EQ(res->result(), http::status::method_not_allowed) << method;
        EXPECT_EQ(res->at(http::field::allow), "GET, HEAD");
    }
}

TEST_F(admin, pipelined_requests_are_answered_in_order)
{
    auto c = connect();
    c.send("GET /livez HTTP/1.1\r\nHost: a\r\n\r\n"
           "GET /readyz HTTP/1.1\r\nHost: a\r\n\r\n"
           "GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(c.receive()->body(), "live\n");
    EXPECT_EQ(c.receive()->body(), "ready\n");
    auto last = c.receive();
    EXPECT_EQ(last->body(), "free\n");
    EXPECT_FALSE(last->keep_alive());
    EXPECT_TRUE(c.closed_by_server());
}

TEST_F(admin, bad_input_is_refused_and_the_server_keeps_answering)
{
    struct row {
        std::string input;
        http::status status;
    };
    const row rows[] = {
        {std::string("\x00\xff\x13garbage\r\n\r\n", 14), http::status::bad_request},
        {"GET /healthz HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(9000, 'x') + "\r\n\r\n",
         http::status::request_header_fields_too_large},
        {"POST /reload HTTP/1.1\r\nHost: a\r\nContent-Length: 513\r\n\r\n" + std::string(513, 'x'),
         http::status::payload_too_large},
        {"POST /reload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n300\r\n" +
             std::string(0x300, 'x') + "\r\n0\r\n\r\n",
         http::status::payload_too_large},
    };
    for (const auto& r : rows) {
        auto c = connect();
        c.send(r.input);
        auto res = c.receive();
        ASSERT_TRUE(res) << r.input.substr(0, 40);
        EXPECT_EQ(res->result(), r.status) << r.input.substr(0, 40);
        EXPECT_TRUE(c.closed_by_server());
    }
    {
        auto half = connect();  // a client that leaves in the middle of a head
        half.send("GET /heal");
    }
    EXPECT_EQ(connect().get("/healthz")->body(), "free\n");
}

TEST_F(admin, a_failing_source_costs_its_endpoint_only)
{
    fake_proxy other;
    auto sources = other.sources();
    sources.metrics_text = []() -> std::string { throw std::runtime_error("registry gone"); };
    sources.status_json = nullptr;
    admin_server failing{tcp_endpoint(0), sources};
    failing.start();
    raw_client c{failing.local_address()};
    auto metrics = c.get("/metrics");
    EXPECT_EQ(metrics->result(), http::status::internal_server_error);
    EXPECT_NE(metrics->body().find("registry gone"), std::string::npos);
    EXPECT_EQ(c.get("/status")->result(), http::status::internal_server_error);
    EXPECT_EQ(c.get("/healthz")->body(), "free\n");
}

TEST_F(admin, stop_closes_idle_connections_and_is_idempotent)
{
    auto c = connect();
    ASSERT_TRUE(c.get("/healthz"));
    auto before = std::chrono::steady_clock::now();
    server.stop();  // must not wait for the 5 s idle timeout
    EXPECT_LT(std::chrono::steady_clock::now() - before, 2s);
    EXPECT_TRUE(c.closed_by_server());
    server.stop();
}

TEST(admin_bind, a_unix_socket_path_serves_too_and_a_stale_file_is_replaced)
{
    auto path = std::filesystem::temp_directory_path() /
                ("sluice-admin-test-" + std::to_string(::getpid()) + ".sock");
    sluice::config::endpoint bind{sluice::config::endpoint::kind::unix_socket, "", 0, path.string(),
                                  "unix:" + path.string()};
    fake_proxy proxy;
    for (int run = 0; run < 2; ++run) {  // the second run finds the first run's socket file
        admin_server server{bind, proxy.sources()};
        server.start();
        EXPECT_EQ(server.local_address(), "unix:" + path.string());
        raw_client c{server.local_address()};
        EXPECT_EQ(c.get("/healthz")->body(), "free\n");
    }
    std::filesystem::remove(path);
}

TEST(admin_bind, a_port_in_use_is_an_error_naming_the_address)
{
    fake_proxy proxy;
    admin_server first{tcp_endpoint(0), proxy.sources()};
    auto address = first.local_address();
    auto port = static_cast<std::uint16_t>(std::stoi(address.substr(address.rfind(':') + 1)));
    try {
        admin_server second{tcp_endpoint(port), proxy.sources()};
        FAIL() << "bound " << address << " twice";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find(address), std::string::npos) << e.what();
    }
}

TEST(admin_bind, a_missing_signal_is_refused)
{
    fake_proxy proxy;
    auto sources = proxy.sources();
    sources.signal = nullptr;
    EXPECT_THROW((admin_server{tcp_endpoint(0), sources}), std::invalid_argument);
}

}  // namespace
