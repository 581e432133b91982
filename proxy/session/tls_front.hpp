#pragma once
// TLS termination for one client connection of a TLS listener: the PROXY header if the listener
// expects one, a plain-text 400 for plain HTTP, the handshake within timeouts.client_header,
// then the ordinary client session, served through one end of a socket pair while this side
// relays between the pair's other end and the TLS stream. Every session path (buffering, slow
// clients, queueing, tunnels) stays the plain socket's; TLS costs its own relay and nothing else.

#include "config/model.hpp"
#include "proxy/session/client_session.hpp"

#include <memory>

namespace sluice::net {
class tls_server_context;
}

namespace sluice::proxy {

void start_tls_front(worker& w, socket_type socket, std::shared_ptr<connection_owner> owner,
                     std::shared_ptr<const net::tls_server_context> tls,
                     config::proxy_protocol proxy_protocol);

}  // namespace sluice::proxy
