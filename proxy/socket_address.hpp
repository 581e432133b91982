#pragma once
// config::endpoint -> a socket address Asio can bind or connect to (TCP or unix socket).

#include "config/model.hpp"

#include <boost/asio/generic/stream_protocol.hpp>

#include <string>
#include <utility>

namespace sluice::proxy {

// Resolves host names (blocking: start-up and reload only). Throws std::runtime_error naming the
// endpoint when it cannot be resolved.
boost::asio::generic::stream_protocol::endpoint to_socket_address(const config::endpoint& e);

// "10.0.0.1:5000" -> {"10.0.0.1", "5000"}, "[::1]:80" -> {"::1", "80"}; a unix socket, or an
// address that could not be read (`ec`), gives {"", ""}.
std::pair<std::string, std::string> host_and_port(
    const boost::asio::generic::stream_protocol::endpoint& e, const boost::system::error_code& ec);

// "127.0.0.1:8080" or "unix:/path" of a bound socket's local address.
std::string describe(const boost::asio::generic::stream_protocol::endpoint& e);

}  // namespace sluice::proxy
