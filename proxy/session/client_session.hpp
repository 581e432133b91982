#pragma once
// One coroutine per client connection: read a request head, forward it, relay the response,
// repeat while keep-alive holds. Runs entirely on the worker that owns the socket.

#include "net/tls_channel.hpp"
#include "proxy/log/rate_limit.hpp"
#include "proxy/runtime/deadline_sweeper.hpp"

#include <memory>
#include <string>

namespace sluice::proxy {

class worker;

// What a client connection belongs to: the listener, which counts open connections and whose
// name finds the listener's current config for each request (a reload may reorder them).
class connection_owner {
public:
    virtual ~connection_owner() = default;
    virtual const std::string& name() const = 0;
    virtual void on_closed() = 0;
    // Of its accepted sockets, which a connection needs to take its socket back from idle_set.
    virtual boost::asio::generic::stream_protocol socket_protocol() const = 0;

    // Connections refused before any request are logged at most once a second per listener.
    rate_limit proxy_header_log;
    rate_limit handshake_log;
};

// A connection the TLS front hands over after its handshake: where it comes from (the front has
// read any PROXY header itself) and the TLS state the session reads and writes through.
struct client_origin {
    std::string ip;  // "" when unknown (a unix-socket client)
    std::string port, local_ip, local_port;
    std::string tls_version;  // "TLSv1.3"
    std::string sni;          // "" when the client sent none
    std::unique_ptr<net::tls_channel> tls;
};

// `client_ip` is the address accept gave ("" for a unix-socket client).
void start_client_session(worker& w, socket_type socket, std::shared_ptr<connection_owner> owner,
                          std::string client_ip);

// Serves a client connection whose socket waited in its worker's idle_set: worker::idle's wake.
void resume_idle_client(void* connection);

// A connection the TLS front established: no PROXY header is read.
void start_client_session(worker& w, socket_type socket, std::shared_ptr<connection_owner> owner,
                          std::unique_ptr<client_origin> origin);

}  // namespace sluice::proxy
