#include "proxy/runtime/tls_pipe.hpp"

#include "net/accepted_socket.hpp"
#include "net/read_readiness.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <array>
#include <string>
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

// What has arrived on `s`, without a recv that fails: read just after the previous exchange, a
// socket is usually still empty (net/read_readiness.hpp).
awaitable<std::tuple<error_code, std::size_t>> read_ready(socket_type& s, asio::mutable_buffer into)
{
    error_code ec;
    auto n = net::read_arrived(s, into, ec);
    if (ec == asio::error::would_block)
        std::tie(ec, n) = co_await s.async_read_some(into, use_tuple);
    if (!ec) net::note_message_end(s, n < into.size());
    co_return std::tuple{ec, n};
}

// Writes what `s` takes at once, without a suspension, and the rest asynchronously; `deadline`
// (if any) bounds the rest.
awaitable<error_code> write_all(socket_type& s, asio::const_buffer data, struct deadline* deadline,
                                clock::duration timeout)
{
    error_code ec;
    const auto n = s.write_some(data, ec);
    if (ec != asio::error::would_block && (ec || n == data.size())) co_return ec;
    if (deadline) deadline->arm(timeout);
    std::tie(ec, std::ignore) = co_await asio::async_write(s, data + (ec ? 0 : n), use_tuple);
    if (deadline) deadline->disarm();
    co_return ec;
}

// Sends the records OpenSSL wrote, within `timeout`. One coroutine sends at a time: another
// one's records go with its next round.
awaitable<bool> flush(tls_pipe& p, clock::duration timeout)
{
    if (p.sending) co_return true;
    p.sending = true;
    error_code ec;
    while (!ec && !p.buffers.output().empty()) {
        p.in_flight.swap(p.buffers.output());
        ec = co_await write_all(p.tcp_socket(), asio::buffer(p.in_flight), &p.deadline, timeout);
        // A large body's records are not kept for the rest of a keep-alive connection.
        if (p.in_flight.capacity() > 2 * record_size)
            std::string().swap(p.in_flight);
        else
            p.in_flight.clear();
    }
    p.sending = false;
    co_return !ec;
}

// Reads the peer's next bytes for OpenSSL.
awaitable<error_code> fill_input(tls_pipe& p)
{
    const auto space = p.buffers.input_space();
    // Only a record longer than TLS allows could fill it, and OpenSSL refuses its header first.
    if (space.size() == 0) co_return asio::error::message_size;
    auto [ec, n] = co_await read_ready(p.tcp_socket(), space);
    if (!ec) p.buffers.commit_input(n);
    co_return ec;
}

awaitable<void> from_peer(tls_pipe& p, clock::duration write_timeout)
{
    SSL* ssl = p.tls.native_handle();
    std::array<char, record_size> buf;
    for (;;) {
        std::size_t n = 0;
        const bool got = SSL_read_ex(ssl, buf.data(), buf.size(), &n) == 1;
        // A TLS 1.3 key update is answered during the read.
        if (!p.buffers.output().empty() && !co_await flush(p, write_timeout)) break;
        if (got) {
            if (co_await write_all(p.pair, asio::buffer(buf.data(), n), nullptr, {})) break;
            continue;
        }
        if (!SSL_want_read(ssl)) {  // the peer's close_notify, or a record OpenSSL refused
            ERR_clear_error();
            p.peer_left = true;
            break;
        }
        if (const auto ec = co_await fill_input(p)) {
            p.peer_left = ec != asio::error::operation_aborted;
            break;
        }
    }
    error_code ignored;
    p.pair.shutdown(socket_type::shutdown_send, ignored);  // the other end sees the peer go
}

// Records wait in the output while the other end has more ready (which costs no syscall to see
// when it has not), so that they leave in one send: a response and the close_notify behind it,
// or the records of a large body, up to this much.
constexpr std::size_t send_at_most_after = 64 * 1024;

awaitable<void> to_peer(tls_pipe& p, clock::duration write_timeout)
{
    SSL* ssl = p.tls.native_handle();
    std::array<char, record_size> buf;
    const auto into = asio::buffer(buf);
    for (;;) {
        error_code ec = asio::error::would_block;
        std::size_t n = 0;
        if (p.buffers.output().size() < send_at_most_after) n = net::read_arrived(p.pair, into, ec);
        if (ec == asio::error::would_block) {
            if (!co_await flush(p, write_timeout)) {
                p.peer_left = true;
                break;
            }
            std::tie(ec, n) = co_await p.pair.async_read_some(into, use_tuple);
        }
        if (ec) break;
        net::note_message_end(p.pair, n < into.size());
        if (!net::encrypt(ssl, buf.data(), n)) {
            p.peer_left = true;
            break;
        }
    }
    // The other end is done: the close_notify and the FIN go at once, so that this side closes
    // first (a client that closes first keeps a TIME_WAIT port for every connection). The
    // peer's close_notify is not waited for. A peer that only shut down its side still gets
    // what was written for it.
    if (!p.peer_left) {
        SSL_set_shutdown(ssl, SSL_RECEIVED_SHUTDOWN);
        SSL_shutdown(ssl);
    }
    co_await flush(p, write_timeout);
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
    // Short reads prove a socket empty only where epoll reports the peer's shutdown; and
    // nothing has written to the pair yet, so its first read waits for epoll.
    net::watch_peer_shutdown(pair);
    net::note_message_end(pair, true);
    return other;
}

awaitable<void> relay(tls_pipe& p, clock::duration write_timeout)
{
    using namespace asio::experimental::awaitable_operators;
    if (!p.buffers.attach(p.tls.native_handle())) co_return;
    net::watch_peer_shutdown(p.tcp_socket());
    co_await (from_peer(p, write_timeout) && to_peer(p, write_timeout));
}

}  // namespace sluice::proxy
