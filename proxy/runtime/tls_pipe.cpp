#include "proxy/runtime/tls_pipe.hpp"

#include "net/accepted_socket.hpp"
#include "net/read_readiness.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <openssl/ssl.h>

#include <array>
#include <tuple>

#include <sys/socket.h>
#include <unistd.h>

namespace sluice::proxy {

namespace {

namespace asio = boost::asio;
using boost::system::error_code;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable_t<executor_type>{});

// A TLS record's plaintext at most: one read of the stream never gives more.
constexpr std::size_t record_size = 16 * 1024;

awaitable<void> from_peer(tls_pipe& p)
{
    std::array<char, record_size> buf;
    for (;;) {
        auto [ec, n] = co_await p.tls.async_read_some(asio::buffer(buf), use_tuple);
        if (ec) {
            p.peer_left = ec != asio::error::operation_aborted;
            break;
        }
        // The pair takes a request at once: no suspension, unless its buffer is full.
        error_code wec;
        const auto m = p.pair.write_some(asio::buffer(buf.data(), n), wec);
        if (wec == asio::error::would_block || (!wec && m < n))
            std::tie(wec, std::ignore) = co_await asio::async_write(
                p.pair, asio::buffer(buf.data() + m, n - m), use_tuple);
        if (wec) break;
    }
    error_code ignored;
    p.pair.shutdown(socket_type::shutdown_send, ignored);  // the other end sees the peer go
}

// What the other end has written, without a recv that fails: read just after the previous
// write to the peer, the pair is usually still empty (net/read_readiness.hpp).
awaitable<std::tuple<error_code, std::size_t>> read_pair(tls_pipe& p, asio::mutable_buffer into)
{
    error_code ec;
    auto n = net::read_arrived(p.pair, into, ec);
    if (ec == asio::error::would_block)
        std::tie(ec, n) = co_await p.pair.async_read_some(into, use_tuple);
    if (!ec) net::note_message_end(p.pair, n < into.size());
    co_return std::tuple{ec, n};
}

awaitable<void> to_peer(tls_pipe& p, clock::duration write_timeout)
{
    std::array<char, record_size> buf;
    for (;;) {
        auto [ec, n] = co_await read_pair(p, asio::buffer(buf));
        if (ec) break;
        p.deadline.arm(write_timeout);
        auto [wec, m] = co_await asio::async_write(p.tls, asio::buffer(buf.data(), n), use_tuple);
        p.deadline.disarm();
        if (wec) {
            p.peer_left = true;
            break;
        }
    }
    // The other end is done: the close_notify and the FIN go at once, so that this side closes
    // first (a client that closes first keeps a TIME_WAIT port for every connection). The
    // peer's close_notify is not waited for.
    if (!p.peer_left) {
        SSL_set_shutdown(p.tls.native_handle(), SSL_RECEIVED_SHUTDOWN);
        p.deadline.arm(write_timeout);
        co_await p.tls.async_shutdown(use_tuple);
        p.deadline.disarm();
    }
    error_code ignored;
    p.tcp_socket().shutdown(socket_type::shutdown_send, ignored);
    p.tcp_socket().cancel(ignored);  // from_peer's read: the connection is over
}

}  // namespace

tls_pipe::tls_pipe(asio::io_context& io, deadline_sweeper& sweeper, socket_type tcp, ssl_st* ssl)
    : tls(net::tls_transport(std::move(tcp)), ssl), pair(io), deadline(sweeper, tcp_socket())
{
}

socket_type tls_pipe::open_pair(error_code& ec)
{
    const asio::generic::stream_protocol unix_stream(AF_UNIX, 0);
    socket_type other(pair.get_executor());
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) {
        ec = error_code(errno, boost::system::system_category());
        return other;
    }
    pair.assign(unix_stream, fds[1], ec);
    if (ec) {
        ::close(fds[0]);
        ::close(fds[1]);
        return other;
    }
    other.assign(unix_stream, fds[0], ec);
    if (ec) {
        ::close(fds[0]);
        return other;
    }
    // Non-blocking and shared with no one, as an accepted socket: no ioctl, and no epoll_ctl
    // at close.
    net::adopt_accepted(pair);
    net::adopt_accepted(other);
    return other;
}

awaitable<void> relay(tls_pipe& p, clock::duration write_timeout)
{
    using namespace asio::experimental::awaitable_operators;
    // Short reads prove a socket empty only where epoll reports the peer's shutdown.
    net::watch_peer_shutdown(p.tcp_socket());
    net::watch_peer_shutdown(p.pair);
    // Nothing has written to the pair yet: its first read waits for epoll.
    net::note_message_end(p.pair, true);
    co_await (from_peer(p) && to_peer(p, write_timeout));
}

}  // namespace sluice::proxy
