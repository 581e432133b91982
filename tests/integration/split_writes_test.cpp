// A client with Nagle's algorithm on (the socket default) that writes a request in two pieces, a
// POST's head then its body, or a head in two, sends the second piece only once the first is
// acknowledged. On a kept-alive connection Linux holds that ACK for the response to carry, up to
// 40 ms, and so does a new connection's socket from sluice's listeners (quick ACKs off, as
// HAProxy's: a packet saved per connection). sluice acknowledges a request cut short at once.
// The bound below is generous (20 ms a request); the delay it catches is 40.

#include "integration/polling.hpp"
#include "support/proxy_config.hpp"
#include "support/scripted_backend.hpp"
#include "support/sluice_process.hpp"
#include "support/wire.hpp"

#include <gtest/gtest.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

namespace sluice::test {
namespace {

constexpr int requests = 20;
constexpr millis bound{requests * 20};

// A kept-alive connection to `port` with Nagle's algorithm on, as a client's socket starts.
std::unique_ptr<byte_stream> nagle_client(std::uint16_t port)
{
    const int fd = connect_tcp(port);
    EXPECT_GE(fd, 0);
    const int zero = 0;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &zero, sizeof zero);
    return std::make_unique<byte_stream>(fd);
}

// Sends each piece in a write of its own, and reads the response's head and body.
void exchange(byte_stream& client, std::initializer_list<std::string_view> pieces)
{
    for (const auto piece : pieces) ASSERT_TRUE(client.write_all(piece));
    std::string head;
    ASSERT_EQ(client.read_head(head, 5s), byte_stream::status::ok);
    ASSERT_NE(head.find(" 200 "), std::string::npos) << head;
    const auto length = head.find("Content-Length: ");
    ASSERT_NE(length, std::string::npos) << head;
    ASSERT_EQ(client.read_exact(
                  std::stoull(head.substr(length + 16)), [](std::string_view) {}, 5s),
              byte_stream::status::ok);
}

// A Nagle client's connection to `proxy`, kept alive by a first exchange.
std::unique_ptr<byte_stream> kept_alive_client(const sluice_process& proxy)
{
    auto client = nagle_client(proxy.port());
    exchange(*client, {"GET / HTTP/1.1\r\nHost: a\r\n\r\n"});
    return client;
}

// `requests` exchanges of `pieces`, each on a new connection to a proxy with `listener_option`
// ("" for none), all answered within the bound.
void expect_prompt_on_new_connections(const std::string& listener_option,
                                      std::initializer_list<std::string_view> pieces)
{
    scripted_backend app;
    auto cfg = config_for(app);
    if (!listener_option.empty()) cfg.listener_option(listener_option);
    sluice_process proxy{cfg};
    const auto start = steady::now();
    for (int i = 0; i < requests; ++i) {
        auto client = nagle_client(proxy.port());
        exchange(*client, pieces);
    }
    EXPECT_LT(since(start), bound);
    EXPECT_EQ(app.request_count(), std::size_t(requests));
}

TEST(split_writes, a_post_whose_body_follows_its_head_apart_is_not_held_up)
{
    scripted_backend app;
    sluice_process proxy{config_for(app)};
    auto client = kept_alive_client(proxy);  // the connection is kept alive
    const auto start = steady::now();
    for (int i = 0; i < requests; ++i)
        exchange(*client,
                 {"POST /form HTTP/1.1\r\nHost: a\r\nContent-Length: 7\r\n\r\n", "a=1&b=2"});
    EXPECT_LT(since(start), bound);
    ASSERT_EQ(app.request_count(), requests + 1u);
    EXPECT_EQ(app.requests().back().body, "a=1&b=2");
}

TEST(split_writes, a_new_connections_first_post_is_not_held_up)
{
    expect_prompt_on_new_connections(
        "", {"POST /form HTTP/1.1\r\nHost: a\r\nContent-Length: 7\r\n\r\n", "a=1&b=2"});
}

TEST(split_writes, a_head_written_in_two_pieces_is_not_held_up)
{
    scripted_backend app;
    sluice_process proxy{config_for(app)};
    auto client = kept_alive_client(proxy);
    const auto start = steady::now();
    for (int i = 0; i < requests; ++i)
        exchange(*client, {"GET /p HTTP/1.1\r\n", "Host: a\r\n\r\n"});
    EXPECT_LT(since(start), bound);
    EXPECT_EQ(app.request_count(), requests + 1u);
}

// A balancer with Nagle on that writes its PROXY header apart from the request.
TEST(split_writes, a_proxy_header_written_apart_from_its_request_is_not_held_up)
{
    expect_prompt_on_new_connections("proxy_protocol: v1",
                                     {"PROXY TCP4 192.0.2.7 192.0.2.1 4000 80\r\n",
                                      "GET / HTTP/1.1\r\nHost: a\r\n\r\n"});
}

// After a 100 Continue (which puts the socket back to delaying its ACKs) a body in two pieces.
TEST(split_writes, a_body_after_100_continue_in_two_pieces_is_not_held_up)
{
    scripted_backend app;
    sluice_process proxy{config_for(app)};
    auto client = kept_alive_client(proxy);
    const std::string big(4000, 'b');
    const std::string head = "POST /upload HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
                             "Content-Length: 4007\r\n\r\n";
    const auto start = steady::now();
    for (int i = 0; i < requests; ++i) {
        ASSERT_TRUE(client->write_all(head));
        std::string interim;
        ASSERT_EQ(client->read_head(interim, 5s), byte_stream::status::ok);
        ASSERT_NE(interim.find(" 100 "), std::string::npos) << interim;
        exchange(*client, {big, "a=1&b=2"});
    }
    EXPECT_LT(since(start), bound);
    EXPECT_EQ(app.requests().back().body_size, 4007u);
}

}  // namespace
}  // namespace sluice::test
