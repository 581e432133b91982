#include "net/accepted_socket.hpp"

#include "net/socket_address.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <gtest/gtest.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

namespace sluice::net {
namespace {

namespace asio = boost::asio;

// A connection to a TCP listener made by listen_on, accepted as the listener accepts it:
// accept4, non-blocking.
struct accepted {
    asio::io_context io;
    acceptor_type acceptor{io};
    int client = -1;
    int fd = -1;
    accepted()
    {
        const config::endpoint bind{config::endpoint::kind::tcp, "127.0.0.1", 0, "", "127.0.0.1:0"};
        EXPECT_FALSE(listen_on(acceptor, bind));
        const auto to = acceptor.local_endpoint();
        client = ::socket(to.protocol().family(), SOCK_STREAM, 0);
        EXPECT_EQ(::connect(client, to.data(), static_cast<socklen_t>(to.size())), 0);
        fd = ::accept4(acceptor.native_handle(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        EXPECT_GE(fd, 0);
    }
    ~accepted() { ::close(client); }
};

// A TCP-level option of an accepted socket, or -1 when getsockopt fails.
int tcp_option(const accepted& c, int name)
{
    int value = -1;
    socklen_t size = sizeof value;
    if (::getsockopt(c.fd, IPPROTO_TCP, name, &value, &size) != 0) return -1;
    return value;
}

// The session no longer sets TCP_NODELAY on each client connection: it relies on this.
TEST(accepted_socket, a_tcp_listeners_connections_have_no_delay)
{
    accepted c;
    EXPECT_EQ(tcp_option(c, TCP_NODELAY), 1);
    ::close(c.fd);
}

// A request's ACK waits to ride on its response (TCP_QUICKACK off, from the listening socket, as
// HAProxy's HTTP listeners have it): a packet saved per new connection. getsockopt reports
// whether the socket would ACK at once. A client that waits for the ACK of a request cut short
// gets it at once all the same (split_writes_test.cpp).
TEST(accepted_socket, a_tcp_listeners_connections_delay_their_acks)
{
    accepted c;
    EXPECT_EQ(tcp_option(c, TCP_QUICKACK), 0);
    ::close(c.fd);
}

TEST(accepted_socket, an_adopted_socket_is_non_blocking_and_closes)
{
    accepted c;
    socket_type s{c.io};
    s.assign(c.acceptor.local_endpoint().protocol(), c.fd);
    adopt_accepted(s);
    EXPECT_TRUE(s.non_blocking());
    char byte;
    boost::system::error_code ec;
    s.read_some(asio::buffer(&byte, 1), ec);
    EXPECT_EQ(ec, asio::error::would_block);  // not a blocked test
    s.close(ec);
    EXPECT_FALSE(ec);
    EXPECT_EQ(::read(c.client, &byte, 1), 0);  // the client sees the close
}

}  // namespace
}  // namespace sluice::net
