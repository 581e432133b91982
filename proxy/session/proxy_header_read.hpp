#pragma once
// A listener with `proxy_protocol` on: the balancer in front sends a PROXY header before anything
// else on each connection. It is read here, before the first request; the address it carries
// becomes the connection's client for the access log, X-Forwarded-For and everything else.

#include "config/model.hpp"
#include "proxy/session/session.hpp"

namespace sluice::proxy {

// Reads the header within timeouts.client_header and takes it out of the connection's buffer
// (what follows it stays for the request). False when the connection must close: no valid
// header of an allowed version (logged as bad_proxy_header, at most once a second), too slow, or
// closed.
awaitable<bool> read_proxy_header(client_connection& c, config::proxy_protocol allowed);

// The same on a TLS listener, before the handshake: reads not one byte past the header (the
// handshake follows it) and sets `client_ip` to the address it carries (unless LOCAL). The
// caller arms `d` with timeouts.client_header.
awaitable<bool> read_proxy_header_exact(socket_type& socket, struct deadline& d,
                                        connection_owner& owner, config::proxy_protocol allowed,
                                        std::string& client_ip);

}  // namespace sluice::proxy
