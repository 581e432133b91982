#include "net/socket_address.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>

#include <gtest/gtest.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace sluice::net {
namespace {

namespace asio = boost::asio;

TEST(socket_address, host_of_gives_what_host_and_port_gives)
{
    for (const char* ip : {"0.0.0.0", "1.2.3.4", "10.0.0.1", "127.0.0.1", "192.168.100.200",
                           "255.255.255.255", "::1", "2001:db8::7"}) {
        const asio::generic::stream_protocol::endpoint e{
            asio::ip::tcp::endpoint(asio::ip::make_address(ip), 8080)};
        EXPECT_EQ(host_of(e), ip);
        EXPECT_EQ(host_of(e), host_and_port(e, {}).first);
    }
    const asio::generic::stream_protocol::endpoint unix_client{
        asio::local::stream_protocol::endpoint("/tmp/x.sock")};
    EXPECT_EQ(host_of(unix_client), "");
}

int pending_connections(acceptor_type& acceptor)
{
    pollfd p{acceptor.native_handle(), POLLIN, 0};
    return ::poll(&p, 1, 200);
}

// With defer_accept a connection that has sent nothing is not handed over; its first bytes
// make it so. Without, the bare connection is.
TEST(socket_address, defer_accept_holds_a_connection_until_its_first_bytes)
{
    for (const bool defer : {true, false}) {
        asio::io_context io;
        acceptor_type acceptor{io};
        const config::endpoint bind{config::endpoint::kind::tcp, "127.0.0.1", 0, "", "127.0.0.1:0"};
        ASSERT_FALSE(listen_on(acceptor, bind));
        ASSERT_FALSE(defer_accept(acceptor, defer));
        const auto to = acceptor.local_endpoint();
        const int client = ::socket(to.protocol().family(), SOCK_STREAM, 0);
        ASSERT_EQ(::connect(client, to.data(), static_cast<socklen_t>(to.size())), 0);
        EXPECT_EQ(pending_connections(acceptor), defer ? 0 : 1) << "defer " << defer;
        ASSERT_EQ(::send(client, "G", 1, 0), 1);
        EXPECT_EQ(pending_connections(acceptor), 1) << "defer " << defer;
        ::close(client);
    }
}

TEST(socket_address, defer_accept_on_a_unix_socket_is_an_error_not_a_crash)
{
    asio::io_context io;
    acceptor_type acceptor{io};
    const std::string path = "/tmp/sluice-defer-" + std::to_string(::getpid()) + ".sock";
    const config::endpoint bind{config::endpoint::kind::unix_socket, "", 0, path, "unix:" + path};
    ASSERT_FALSE(listen_on(acceptor, bind));
    EXPECT_TRUE(defer_accept(acceptor, true));
    ::unlink(path.c_str());
}

}  // namespace
}  // namespace sluice::net
