#include "net/socket_address.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace sluice::net
