#pragma once
// One connection to a backend server: the socket, its read buffer (a response may leave bytes
// behind only if the server misbehaves, but the buffer must live as long as the socket) and
// its deadline. Lives on one event-loop thread; idles in that thread's connection_pool.

#include "proxy/runtime/deadline_sweeper.hpp"

#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>

namespace sluice::net {
class tls_client_context;
}

namespace sluice::proxy {

class upstream_connection {
public:
    upstream_connection(boost::asio::io_context& io, deadline_sweeper& sweeper);

    // How a connection starts besides the TCP connect, in this order.
    struct opening {
        std::string proxy_header;                            // sent first, in the clear ("" = none)
        std::shared_ptr<const net::tls_client_context> tls;  // then the handshake (null = none)
        clock::duration write_timeout{};  // of the TLS relay's writes to the server
    };

    // Connects, and sends and handshakes what `how` says, all within `timeout`. On failure the
    // error says which: timed_out for the deadline; a failed handshake sets tls_failure. With
    // TLS the connection is then carried through a tls_pipe.
    awaitable<boost::system::error_code> connect(
        const boost::asio::generic::stream_protocol::endpoint& to, clock::duration timeout,
        opening how);

    // Without blocking: true when the server has closed or sent unsolicited bytes, so the
    // connection must not carry a request.
    bool is_stale() const;

    socket_type socket;
    boost::beast::flat_buffer buffer;
    struct deadline deadline;
    clock::time_point idle_since{};
    unsigned requests = 0;  // served on this connection; > 0 means it is a reused one
    // The client its PROXY header named ("" when the server takes none): only that client's
    // requests may reuse it.
    std::string proxied_for;
    // The server's tls_generation when it was opened: after a reload that touches the server's
    // tls (it turns on, off, or its files are read again), an older connection is not reused.
    std::uint32_t tls_generation = 0;
    // After a failed TLS handshake: the access log's reason and OpenSSL's words for it.
    std::string_view tls_failure;
    std::string tls_detail;

private:
    awaitable<boost::system::error_code> start_tls(
        std::shared_ptr<const net::tls_client_context> tls, clock::time_point until,
        clock::duration write_timeout);

    boost::asio::io_context& io_;
    deadline_sweeper& sweeper_;
};

}  // namespace sluice::proxy
