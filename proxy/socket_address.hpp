#pragma once
// config::endpoint -> a socket address Asio can bind or connect to (TCP or unix socket).

#include "config/model.hpp"

#include <boost/asio/generic/stream_protocol.hpp>

namespace sluice::proxy {

// Resolves host names (blocking: start-up and reload only). Throws std::runtime_error naming the
// endpoint when it cannot be resolved.
boost::asio::generic::stream_protocol::endpoint to_socket_address(const config::endpoint& e);

// "127.0.0.1:8080" or "unix:/path" of a bound socket's local address.
std::string describe(const boost::asio::generic::stream_protocol::endpoint& e);

}  // namespace sluice::proxy
