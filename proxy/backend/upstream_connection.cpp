#include "proxy/backend/upstream_connection.hpp"

#include "net/read_readiness.hpp"
#include "net/tls_client_context.hpp"
#include "proxy/runtime/tls_pipe.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <sys/socket.h>

namespace sluice::proxy {

namespace asio = boost::asio;

namespace {

// Holds the context as long as the pipe: a TLS 1.3 ticket arrives after the handshake, and
// OpenSSL hands it to the context's session callback, whose ex_data points into it.
awaitable<void> keep_relaying(std::unique_ptr<tls_pipe> pipe,
                              std::shared_ptr<const net::tls_client_context>,
                              clock::duration write_timeout)
{
    co_await relay(*pipe, write_timeout);
}

}  // namespace

upstream_connection::upstream_connection(asio::io_context& io, deadline_sweeper& sweeper)
    : socket(io), deadline(sweeper, socket), io_(io), sweeper_(sweeper)
{
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
    if (!ec && how.tls) ec = co_await start_tls(std::move(how.tls), until, how.write_timeout);
    if (!ec) socket.non_blocking(true, ec);  // the relay's write_now must never block the thread
    if (!ec) net::watch_peer_shutdown(socket);
    co_return ec;
}

// The handshake, within what is left of the connect timeout; then `socket` becomes the pair's
// end and the pipe relays for it, as long as either end stays open.
awaitable<boost::system::error_code> upstream_connection::start_tls(
    std::shared_ptr<const net::tls_client_context> tls, clock::time_point until,
    clock::duration write_timeout)
{
    SSL* ssl = tls->new_session();
    if (!ssl) co_return asio::error::no_memory;
    auto pipe = std::make_unique<tls_pipe>(io_, sweeper_, std::move(socket), ssl);
    pipe->deadline.arm_at(until);
    auto [ec] = co_await pipe->tls.async_handshake(
        asio::ssl::stream_base::client, asio::as_tuple(asio::use_awaitable_t<executor_type>{}));
    pipe->deadline.disarm();
    if (ec) {
        if (pipe->deadline.expired()) co_return asio::error::timed_out;
        tls_failure = net::server_tls_failure(pipe->tls.native_handle(), tls_detail);
        co_return ec;
    }
    socket = pipe->open_pair(ec);
    if (ec) co_return ec;
    asio::co_spawn(io_, keep_relaying(std::move(pipe), std::move(tls), write_timeout),
                   asio::detached);
    co_return ec;
}

bool upstream_connection::is_stale() const
{
    char byte;
    auto self = const_cast<socket_type&>(socket).native_handle();
    ssize_t n = ::recv(self, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0) return errno != EAGAIN && errno != EWOULDBLOCK;
    return true;  // 0: closed by the server; > 0: bytes nobody asked for
}

}  // namespace sluice::proxy
