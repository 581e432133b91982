#pragma once
// TLS termination for one client connection of a TLS listener: the PROXY header if the listener
// expects one, a plain-text 400 for plain HTTP, the handshake within timeouts.client_header,
// then the ordinary client session, which reads and writes the socket through the handshake's
// SSL in a net::tls_channel. Every session path (buffering, slow clients, queueing, tunnels) is
// the plain socket's, with a pointer checked per read and write (net/stream_ref.hpp).

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
