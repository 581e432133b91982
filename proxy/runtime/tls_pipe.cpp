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

// A TLS record's plaintext at most: one SSL_read never gives more.
constexpr std::size_t record_size = 16 * 1024;

// Writes what `s` takes at once, without a suspension, and the rest asynchronously.
awaitable<error_code> write_all(socket_type& s, asio::const_buffer data)
{
    error_code ec;
    const auto n = s.write_some(data, ec);
    if (ec != asio::error::would_block && (ec || n == data.size())) co_return ec;
    std::tie(ec, std::ignore) = co_await asio::async_write(s, data + (ec ? 0 : n), use_tuple);
    co_return ec;
}

// Sends the records that wait, within `timeout`: usually at once, without a suspension.
awaitable<bool> settle(tls_pipe& p, clock::duration timeout)
{
    error_code ec;
    if (p.channel.send_now(p.tcp_socket(), ec)) co_return true;
    if (ec != asio::error::would_block) co_return false;
    p.deadline.arm(timeout);
    ec = co_await p.channel.settle(p.tcp_socket());
    p.deadline.disarm();
    co_return !ec;
}

awaitable<void> from_peer(tls_pipe& p)
{
    std::array<char, record_size> buf;
    for (;;) {
        auto [ec, n] = co_await p.channel.read_some(p.tcp_socket(), asio::buffer(buf));
        if (ec || co_await write_all(p.pair, asio::buffer(buf.data(), n))) break;
    }
    error_code ignored;
    p.pair.shutdown(socket_type::shutdown_send, ignored);  // the other end sees the peer go
}

// Records wait in the channel while the other end has more ready (which costs no syscall to see
// when it has not), so that they leave in one send: a response and the close_notify behind it,
// or the records of a large body, up to this much.
constexpr std::size_t send_at_most_after = 64 * 1024;

awaitable<void> to_peer(tls_pipe& p, clock::duration write_timeout)
{
    std::array<char, record_size> buf;
    const auto into = asio::buffer(buf);
    bool failed = false;  // a write to the peer, or OpenSSL: no close_notify to send then
    for (;;) {
        error_code ec = asio::error::would_block;
        std::size_t n = 0;
        if (p.channel.unsent() < send_at_most_after) n = net::read_arrived(p.pair, into, ec);
        if (ec == asio::error::would_block) {
            if (!co_await settle(p, write_timeout)) {
                failed = true;
                break;
            }
            std::tie(ec, n) = co_await p.pair.async_read_some(into, use_tuple);
        }
        if (ec) break;
        net::note_message_end(p.pair, n < into.size());
        if (!p.channel.queue(buf.data(), n)) {
            failed = true;
            break;
        }
    }
    // The other end is done: the close_notify and the FIN go at once, so that this side closes
    // first (a client that closes first keeps a TIME_WAIT port for every connection). The
    // peer's close_notify is not waited for. A peer that only shut down its side still gets
    // what was written for it.
    if (!failed) {
        p.channel.queue_close();
        co_await settle(p, write_timeout);
    }
    error_code ignored;
    p.tcp_socket().shutdown(socket_type::shutdown_send, ignored);
    p.tcp_socket().cancel(ignored);  // from_peer's read: the connection is over
}

// The channel and the handshake's stream each hold the SSL.
ssl_st* another_reference(ssl_st* ssl)
{
    SSL_up_ref(ssl);
    return ssl;
}

}  // namespace

tls_pipe::tls_pipe(asio::io_context& io, deadline_sweeper& sweeper, socket_type tcp, ssl_st* ssl)
    : channel(another_reference(ssl)), tls(net::tls_transport(std::move(tcp)), ssl), pair(io),
      deadline(sweeper, tcp_socket())
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
    // Short reads prove a socket empty only where epoll reports the peer's shutdown; and
    // nothing has written to the pair yet, so its first read waits for epoll.
    net::watch_peer_shutdown(pair);
    net::note_message_end(pair, true);
    return other;
}

awaitable<void> relay(tls_pipe& p, clock::duration write_timeout)
{
    using namespace asio::experimental::awaitable_operators;
    if (!p.channel.attach()) co_return;
    net::watch_peer_shutdown(p.tcp_socket());
    co_await (from_peer(p) && to_peer(p, write_timeout));
}

}  // namespace sluice::proxy
