#include "net/socket_address.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdexcept>
#include <sys/stat.h>

namespace sluice::net {

namespace asio = boost::asio;
using generic_endpoint = asio::generic::stream_protocol::endpoint;

generic_endpoint to_socket_address(const config::endpoint& e, std::optional<std::uint16_t> port)
{
    if (e.type == config::endpoint::kind::unix_socket)
        return generic_endpoint(asio::local::stream_protocol::endpoint(e.path));
    const auto p = port.value_or(e.port);
    boost::system::error_code ec;
    auto address = asio::ip::make_address(e.host, ec);
    if (!ec) return generic_endpoint(asio::ip::tcp::endpoint(address, p));
    asio::io_context io;
    asio::ip::tcp::resolver resolver(io);
    auto results = resolver.resolve(e.host, std::to_string(p), ec);
    if (ec || results.empty())
        throw std::runtime_error("cannot resolve " + e.text + ": " +
                                 (ec ? ec.message() : std::string("no address")) +
                                 "; use an IP address or a name this host can resolve");
    return generic_endpoint(results.begin()->endpoint());
}

boost::system::error_code listen_on(acceptor_type& acceptor, const config::endpoint& e)
{
    boost::system::error_code ec;
    const bool unix_socket = e.type == config::endpoint::kind::unix_socket;
    struct stat st {};
    if (unix_socket && ::stat(e.path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode))
        std::filesystem::remove(e.path, ec);
    const auto address = to_socket_address(e);
    acceptor.open(address.protocol(), ec);
    if (!ec && !unix_socket) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor.bind(address, ec);
    // Linux gives each accepted socket the listening socket's TCP_NODELAY: no setsockopt for
    // every connection (sluice answers in one write; Nagle would only hold back the last piece).
    if (!ec && !unix_socket) acceptor.set_option(asio::ip::tcp::no_delay(true), ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    // Delayed ACKs for the accepted sockets too (as HAProxy's HTTP listeners have): a request's
    // ACK then rides on its response instead of a packet of its own, one packet in twelve of a
    // connection that carries one request. A request cut short, whose client may wait for the ACK
    // before it sends the rest, is acknowledged at once (net::acknowledge_now); an answer slower
    // than the delayed-ACK timer (40 ms and up) is ACKed by it. Set after listen(2), which resets
    // it; each accepted socket inherits it. Only a packet saved: a kernel that refuses keeps
    // quick ACKs.
    if (!ec && !unix_socket) {
        const int off = 0;
        ::setsockopt(acceptor.native_handle(), IPPROTO_TCP, TCP_QUICKACK, &off, sizeof off);
    }
    return ec;
}

boost::system::error_code defer_accept(acceptor_type& acceptor, bool on)
{
    const int seconds = on ? 1 : 0;
    if (::setsockopt(acceptor.native_handle(), IPPROTO_TCP, TCP_DEFER_ACCEPT, &seconds,
                     sizeof seconds) != 0)
        return {errno, boost::system::system_category()};
    return {};
}

std::pair<std::string, std::string> host_and_port(const generic_endpoint& e,
                                                  const boost::system::error_code& ec)
{
    if (ec || e.protocol().family() == AF_UNIX) return {};
    auto text = describe(e);
    const auto colon = text.rfind(':');
    auto host = text.substr(0, colon);
    if (!host.empty() && host.front() == '[') host = host.substr(1, host.size() - 2);
    return {host, text.substr(colon + 1)};
}

std::string host_of(const generic_endpoint& e)
{
    if (e.protocol().family() != AF_INET) return host_and_port(e, {}).first;
    // By hand: glibc's inet_ntop formats an IPv4 address with sprintf, a few hundred
    // instructions of every new connection.
    sockaddr_in in;
    std::memcpy(&in, e.data(), sizeof in);
    const auto* octet = reinterpret_cast<const unsigned char*>(&in.sin_addr.s_addr);
    std::string text;  // at most 15 characters: no allocation
    for (int i = 0; i < 4; ++i) {
        const unsigned v = octet[i];
        if (i > 0) text += '.';
        if (v >= 100) text += static_cast<char>('0' + v / 100);
        if (v >= 10) text += static_cast<char>('0' + v / 10 % 10);
        text += static_cast<char>('0' + v % 10);
    }
    return text;
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
    if (tcp.address().is_v6()) host = "[" + host + "]";
    return host + ":" + std::to_string(tcp.port());
}

}  // namespace sluice::net
