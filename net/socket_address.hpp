#pragma once
// config::endpoint <-> the socket addresses Asio binds and connects to (TCP or unix:), for every
// I/O part that needs one: listeners, the admin listener, backend servers, health checks.

#include "config/model.hpp"

#include <boost/asio/basic_socket_acceptor.hpp>
#include <boost/asio/generic/stream_protocol.hpp>

#include <optional>
#include <string>
#include <utility>

namespace sluice::net {

using acceptor_type = boost::asio::basic_socket_acceptor<boost::asio::generic::stream_protocol>;

// Resolves host names (blocking: start-up, reload and the checker thread only). `port` replaces
// the endpoint's own (an agent port). Throws std::runtime_error naming the endpoint when it
// cannot be resolved.
boost::asio::generic::stream_protocol::endpoint to_socket_address(
    const config::endpoint& e, std::optional<std::uint16_t> port = std::nullopt);

// Opens, binds and listens. A unix socket file left by an earlier run is replaced (other files at
// the path are not ours and make bind fail). Returns what failed, if anything.
boost::system::error_code listen_on(acceptor_type& acceptor, const config::endpoint& e);

// Has a TCP listening socket hand over connections only once their first bytes have arrived
// (TCP_DEFER_ACCEPT, one second: after it a silent connection is handed over all the same), or
// at once again.
boost::system::error_code defer_accept(acceptor_type& acceptor, bool on);

// "10.0.0.1:5000" -> {"10.0.0.1", "5000"}, "[::1]:80" -> {"::1", "80"}; a unix socket, or an
// address that could not be read (`ec`), gives {"", ""}.
std::pair<std::string, std::string> host_and_port(
    const boost::asio::generic::stream_protocol::endpoint& e, const boost::system::error_code& ec);

// host_and_port(e).first, cheaply: a client's address, once per connection.
std::string host_of(const boost::asio::generic::stream_protocol::endpoint& e);

// "127.0.0.1:8080" or "unix:/path" of a bound socket's local address.
std::string describe(const boost::asio::generic::stream_protocol::endpoint& e);

}  // namespace sluice::net
