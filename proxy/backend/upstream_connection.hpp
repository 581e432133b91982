#pragma once
// One connection to a backend server: the socket, its read buffer (a response may leave bytes
// behind only if the server misbehaves, but the buffer must live as long as the socket), its
// deadline, and over TLS the channel its bytes go through. Lives on one event-loop thread; idles
// in that thread's connection_pool.

#include "proxy/runtime/deadline_sweeper.hpp"

#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>

namespace sluice::net {
class tls_channel;
class tls_client_context;
}  // namespace sluice::net

namespace sluice::proxy {

class upstream_connection {
public:
    upstream_connection(boost::asio::io_context& io, deadline_sweeper& sweeper);
    // Sends the close_notify first on a TLS connection, as the socket takes it now.
    ~upstream_connection();
    upstream_connection(const upstream_connection&) = delete;
    upstream_connection& operator=(const upstream_connection&) = delete;

    // How a connection starts besides the TCP connect, in this order.
    struct opening {
        std::string proxy_header;                            // sent first, in the clear ("" = none)
        std::shared_ptr<const net::tls_client_context> tls;  // then the handshake (null = none)
    };

    // Connects, and sends and handshakes what `how` says, all within `timeout`. On failure the
    // error says which: timed_out for the deadline; a failed handshake sets tls_failure. With
    // TLS the session then reads and writes `socket` through `tls`, as it does a TLS client's.
    awaitable<boost::system::error_code> connect(
        const boost::asio::generic::stream_protocol::endpoint& to, clock::duration timeout,
        opening how);

    // Without blocking: true when the server has closed or sent unsolicited bytes, so the
    // connection must not carry a request. Over TLS a late session ticket or key update is
    // taken in on the way and does not count.
    bool is_stale();
    // Without a syscall: false when nothing has arrived since the response's last read found the
    // socket empty, as far as the event loop has heard (net/read_readiness.hpp), so is_stale()
    // would find nothing either. True when that is not known: a spliced body's last read took
    // what it needed, not all there was.
    bool may_be_stale();

    socket_type socket;
    boost::beast::flat_buffer buffer;
    struct deadline deadline;
    clock::time_point idle_since{};
    unsigned requests = 0;  // served on this connection; > 0 means it is a reused one
    // A spliced body from it came slower than the relay waits for (relay_side::slow_sender).
    bool slow_sender = false;
    // The client its PROXY header named ("" when the server takes none): only that client's
    // requests may reuse it.
    std::string proxied_for;
    // The server's tls_generation when it was opened: after a reload that touches the server's
    // tls (it turns on, off, or its files are read again), an older connection is not reused.
    std::uint32_t tls_generation = 0;
    // After a failed TLS handshake: the access log's reason and OpenSSL's words for it.
    std::string_view tls_failure;
    std::string tls_detail;
    // Before the channel, so destroyed after it: a TLS 1.3 ticket that arrives with a response
    // goes to the context's session callback, whose ex_data points into it.
    std::shared_ptr<const net::tls_client_context> tls_context;
    std::unique_ptr<net::tls_channel> tls;  // null on a plain connection

private:
    awaitable<boost::system::error_code> start_tls(clock::time_point until);

    deadline_sweeper& sweeper_;
};

}  // namespace sluice::proxy
