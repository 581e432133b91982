#include "net/read_readiness.hpp"

#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <optional>
#include <string_view>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace sluice::net {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// Two connected ends: `ours`, served by `io` as the proxy serves its sockets, and the peer's
// raw descriptor. TCP on 127.0.0.1 or a unix socket pair.
struct connected_pair {
    asio::io_context io{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
    socket_type ours{io};
    int peer = -1;

    explicit connected_pair(int family)
    {
        int fds[2];
        if (family == AF_UNIX) {
            EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
        } else {
            tcp_pair(fds);
        }
        ours.assign(asio::generic::stream_protocol(family, SOCK_STREAM), fds[0]);
        ours.non_blocking(true);
        watch_peer_shutdown(ours);
        peer = fds[1];
    }
    ~connected_pair() { ::close(peer); }

    static void tcp_pair(int (&fds)[2])
    {
        const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        ::bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a);
        ::listen(listener, 1);
        ::getsockname(listener, reinterpret_cast<sockaddr*>(&a), &len);
        fds[1] = ::socket(AF_INET, SOCK_STREAM, 0);
        EXPECT_EQ(::connect(fds[1], reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        fds[0] = ::accept(listener, nullptr, nullptr);
        ::close(listener);
    }

    void send(std::string_view bytes)
    {
        EXPECT_EQ(::write(peer, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
    }
};

struct read_result {
    boost::system::error_code ec;
    std::size_t n = 0;
};

class read_readiness : public testing::TestWithParam<int> {};

// As the session reads a message: whatever has arrived, else a wait; a short read that ends the
// message lets the next read wait without a recv. The second read must still see what follows.
void read_twice(connected_pair& p, std::optional<read_result>& first,
                std::optional<read_result>& second)
{
    static std::array<char, 64> buffer;
    boost::system::error_code ec;
    EXPECT_EQ(read_arrived(p.ours, asio::buffer(buffer), ec), 0u);
    EXPECT_EQ(ec, asio::error::would_block);
    p.ours.async_read_some(asio::buffer(buffer), [&](boost::system::error_code ec, std::size_t n) {
        first = read_result{ec, n};
        note_message_end(p.ours, n < buffer.size());
        p.ours.async_read_some(asio::buffer(buffer),
                               [&](boost::system::error_code ec, std::size_t n) {
                                   second = read_result{ec, n};
                               });
    });
}

TEST_P(read_readiness, a_shutdown_behind_the_last_bytes_is_still_read)
{
    connected_pair p{GetParam()};
    std::optional<read_result> first, second;
    read_twice(p, first, second);
    p.send("GET / HTTP/1.1\r\n\r\n");
    ::shutdown(p.peer, SHUT_WR);  // before the event loop polls: one event for both
    p.io.run_for(2s);
    ASSERT_TRUE(first && second);
    EXPECT_EQ(first->n, 18u);
    EXPECT_EQ(second->ec, asio::error::eof);
}

TEST_P(read_readiness, bytes_after_an_emptied_socket_wake_the_next_read)
{
    connected_pair p{GetParam()};
    std::optional<read_result> first, second;
    read_twice(p, first, second);
    p.send("GET / HTTP/1.1\r\n\r\n");
    for (int i = 0; i < 100 && !first; ++i) p.io.run_one_for(20ms);
    ASSERT_TRUE(first);
    p.send("GET /next HTTP/1.1\r\n\r\n");
    p.io.run_for(2s);
    ASSERT_TRUE(second);
    EXPECT_FALSE(second->ec);
    EXPECT_EQ(second->n, 22u);
}

TEST_P(read_readiness, what_has_arrived_is_read_at_once)
{
    connected_pair p{GetParam()};
    p.send("abc");
    std::array<char, 64> buffer;
    boost::system::error_code ec;
    EXPECT_EQ(read_arrived(p.ours, asio::buffer(buffer), ec), 3u);
    EXPECT_FALSE(ec);
}

INSTANTIATE_TEST_SUITE_P(families, read_readiness, testing::Values(AF_INET, AF_UNIX),
                         [](const auto& info) { return info.param == AF_INET ? "tcp" : "unix"; });

}  // namespace
}  // namespace sluice::net
