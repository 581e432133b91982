#include "proxy/backend/upstream_connection.hpp"

#include "net/read_readiness.hpp"
#include "net/tls_channel.hpp"
#include "net/tls_client_context.hpp"
#include "net/tls_transport.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <openssl/ssl.h>

#include <sys/socket.h>

namespace sluice::proxy {

namespace asio = boost::asio;

upstream_connection::upstream_connection(asio::io_context& io, deadline_sweeper& sweeper)
    : socket(io), deadline(sweeper, socket), sweeper_(sweeper)
{
}

upstream_connection::~upstream_connection()
{
    if (tls) tls->close(socket);
}

awaitable<boost::system::error_code> upstream_connection::connect(
    const asio::generic::stream_protocol::endpoint& to, clock::duration timeout, opening how)
{
    const auto until = coarse_now() + timeout;
    constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable_t<executor_type>{});
    deadline.arm_at(until);
    auto [ec] = co_await socket.async_connect(to, use_tuple);
    if (!ec && !how.proxy_header.empty()) {
        auto [wec, n] = co_await asio::async_write(socket, asio::buffer(how.proxy_header),
                                                   use_tuple);
        ec = wec;
    }
    deadline.disarm();
    if (ec && deadline.expired()) ec = asio::error::timed_out;
    if (!ec && to.protocol().family() != AF_UNIX) {
        boost::system::error_code ignored;
        socket.set_option(asio::ip::tcp::no_delay(true), ignored);
    }
    // The relay's write_now must never block the thread; and a short read proves a socket empty
    // (net/read_readiness.hpp) only on a non-blocking one, the handshake's reads included.
    if (!ec) socket.non_blocking(true, ec);
    if (!ec) net::watch_peer_shutdown(socket);
    if (!ec && how.tls) {
        tls_context = std::move(how.tls);
        ec = co_await start_tls(until);
    }
    co_return ec;
}

// The handshake, within what is left of the connect timeout, through Asio's TLS stream (which
// holds the socket meanwhile); then the socket comes back and its SSL goes on in `tls`, as the
// TLS front hands a client's over to its session.
awaitable<boost::system::error_code> upstream_connection::start_tls(clock::time_point until)
{
    SSL* ssl = tls_context->new_session();
    if (!ssl) co_return asio::error::no_memory;
    auto stream = std::make_unique<asio::ssl::stream<net::tls_transport>>(
        net::tls_transport(std::move(socket)), ssl);
    auto& tcp = stream->next_layer().socket();
    struct deadline handshake_deadline(sweeper_, tcp);
    handshake_deadline.arm_at(until);
    auto [ec] = co_await stream->async_handshake(
        asio::ssl::stream_base::client, asio::as_tuple(asio::use_awaitable_t<executor_type>{}));
    handshake_deadline.disarm();
    socket = std::move(tcp);
    if (ec) {
        if (handshake_deadline.expired()) co_return asio::error::timed_out;
        tls_failure = net::server_tls_failure(ssl, tls_detail);
        co_return ec;
    }
    tls = net::tls_channel::after_handshake(ssl);
    if (!tls) co_return asio::error::no_memory;
    co_return ec;
}

bool upstream_connection::may_be_stale()
{
    return net::may_have_bytes(socket) || (tls && tls->holds_input());
}

bool upstream_connection::is_stale()
{
    if (tls) return tls->sent_unasked(socket);
    char byte;
    ssize_t n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0) return errno != EAGAIN && errno != EWOULDBLOCK;
    return true;  // 0: closed by the server; > 0: bytes nobody asked for
}

}  // namespace sluice::proxy
