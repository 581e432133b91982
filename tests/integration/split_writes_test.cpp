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

TEST(split_writes, a_post_whose_body_follows_its_head_apart_is_not_held_up)
{
    scripted_backend app;
    sluice_process proxy{config_for(app)};
    auto client = nagle_client(proxy.port());
    exchange(*client, {"GET / HTTP/1.1\r\nHost: a\r\n\r\n"});  // the connection is kept alive
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
    scripted_backend app;
    sluice_process proxy{config_for(app)};
    const auto start = steady::now();
    for (int i = 0; i < requests; ++i) {
        auto client = nagle_client(proxy.port());
        exchange(*client,
                 {"POST /form HTTP/1.1\r\nHost: a\r\nContent-Length: 7\r\n\r\n", "a=1&b=2"});
    }
    EXPECT_LT(since(start), bound);
    EXPECT_EQ(app.request_count(), std::size_t(requests));
}

TEST(split_writes, a_head_written_in_two_pieces_is_not_held_up)
{
    scripted_backend app;
    sluice_process proxy{config_for(app)};
    auto client = nagle_client(proxy.port());
    exchange(*client, {"GET / HTTP/1.1\r\nHost: a\r\n\r\n"});
    const auto start = steady::now();
    for (int i = 0; i < requests; ++i)
        exchange(*client, {"GET /p HTTP/1.1\r\n", "Host: a\r\n\r\n"});
    EXPECT_LT(since(start), bound);
    EXPECT_EQ(app.request_count(), requests + 1u);
}

}  // namespace
}  // namespace sluice::test
