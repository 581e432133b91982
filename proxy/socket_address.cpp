#include "proxy/socket_address.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>

#include <cstring>
#include <stdexcept>

namespace sluice::proxy {

namespace asio = boost::asio;
using generic_endpoint = asio::generic::stream_protocol::endpoint;

generic_endpoint to_socket_address(const config::endpoint& e)
{
    if (e.type == config::endpoint::kind::unix_socket)
        return generic_endpoint(asio::local::stream_protocol::endpoint(e.path));
    boost::system::error_code ec;
    auto address = asio::ip::make_address(e.host, ec);
    if (!ec)
        return generic_endpoint(asio::ip::tcp::endpoint(address, e.port));
    asio::io_context io;
    asio::ip::tcp::resolver resolver(io);
    auto results = resolver.resolve(e.host, std::to_string(e.port), ec);
    if (ec || results.empty())
        throw std::runtime_error("cannot resolve " + e.text + ": " +
                                 (ec ? ec.message() : std::string("no address")) +
                                 "; use an IP address or a name this host can resolve");
    return generic_endpoint(results.begin()->endpoint());
}

std::pair<std::string, std::string> host_and_port(const generic_endpoint& e,
                                                  const boost::system::error_code& ec)
{
    if (ec || e.protocol().family() == AF_UNIX)
        return {};
    auto text = describe(e);
    const auto colon = text.rfind(':');
    auto host = text.substr(0, colon);
    if (!host.empty() && host.front() == '[')
        host = host.substr(1, host.size() - 2);
    return {host, text.substr(colon + 1)};
}

std::string describe(const generic_endpoint& e)
{
    if (e.protocol().family() == AF_UNIX) {
        asio::local::stream_protocol::endpoint local;
        local.resize(e.size());
        std::memcpy(local.data(), e.data(), e.size());
        return "unix:" + local.path();
    }
    asio::ip::tcp::endpoint tcp;
    std::memcpy(tcp.data(), e.data(), e.size());
    auto host = tcp.address().to_string();
    if (tcp.address().is_v6())
        host = "[" + host + "]";
    return host + ":" + std::to_string(tcp.port());
}

}  // namespace sluice::proxy
