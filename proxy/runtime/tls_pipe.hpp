#pragma once
// A TLS connection to a server carried as a plain one: after the handshake, the connection pool
// holds one end of a socket pair and this side relays between the pair's other end and the TLS
// connection, until either end closes. Everything that works on a plain socket (non-blocking
// writes, idle waits, peeks for a closed peer) works on the pair unchanged, at the price of this
// relay. (Client connections are served over TLS in place.) Asio's TLS stream makes the
// handshake; then the relay reads and writes the TCP socket through a net::tls_channel, which
// costs a request one SSL_read, one SSL_write and a syscall each way.

#include "net/io_types.hpp"
#include "net/tls_channel.hpp"
#include "net/tls_transport.hpp"
#include "proxy/runtime/deadline_sweeper.hpp"

#include <boost/asio/ssl/stream.hpp>

namespace sluice::proxy {

struct tls_pipe {
    // Takes ownership of `ssl` (SSL_new'd), which must not be null.
    tls_pipe(boost::asio::io_context& io, deadline_sweeper& sweeper, socket_type tcp, ssl_st* ssl);

    socket_type& tcp_socket() { return tls.next_layer().socket(); }

    // Opens the socket pair; returns the end for the pool (closed on failure, with the reason in
    // `ec`).
    socket_type open_pair(boost::system::error_code& ec);

    // The established connection, after the handshake. Declared before the stream, so destroyed
    // after it: the channel's SSL reference is the last, and its BIO points into the channel.
    net::tls_channel channel;
    boost::asio::ssl::stream<net::tls_transport> tls;  // for the handshake
    socket_type pair;                                  // this side's end
    struct deadline deadline;  // of the TCP socket: the handshake, then each write to the peer
};

// Relays until the pair's other end closes or the peer leaves, each write to the peer within
// `write_timeout`; then sends a close_notify unless the peer has gone.
awaitable<void> relay(tls_pipe& p, clock::duration write_timeout);

}  // namespace sluice::proxy
