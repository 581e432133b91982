#include "net/tls_channel.hpp"

#include "net/read_readiness.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cerrno>

namespace sluice::net {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable_t<executor_type>{});

// A large body's records are not kept for the rest of a keep-alive connection.
constexpr std::size_t keep_at_most = 64 * 1024;

}  // namespace

tls_channel::~tls_channel() { SSL_free(ssl_); }

std::unique_ptr<tls_channel> tls_channel::after_handshake(ssl_st* ssl)
{
    SSL_up_ref(ssl);  // the stream frees its reference as it goes
    auto channel = std::make_unique<tls_channel>(ssl);
    if (!channel->attach()) return nullptr;
    return channel;
}

error_code tls_channel::protocol_failure() { return {EPROTO, boost::system::system_category()}; }

std::size_t tls_channel::read_arrived(socket_type& s, asio::mutable_buffer into, error_code& ec)
{
    for (;;) {
        std::size_t n = 0;
        const int got = SSL_read_ex(ssl_, into.data(), into.size(), &n);
        send_answer(s);
        if (got == 1) {
            ec = {};
            return n + read_buffered(into + n, s);
        }
        if (!SSL_want_read(ssl_)) {  // the peer's close_notify, or a record OpenSSL refused
            const bool closed = SSL_get_error(ssl_, got) == SSL_ERROR_ZERO_RETURN;
            ERR_clear_error();
            peer_left_ = true;
            ec = closed ? error_code(asio::error::eof) : protocol_failure();
            return 0;
        }
        const auto space = buffers_.input_space();
        // Only a record longer than TLS allows could fill it, and OpenSSL refuses its header first.
        if (space.size() == 0) {
            ec = asio::error::message_size;
            return 0;
        }
        n = net::read_arrived(s, space, ec);
        if (ec) return 0;
        buffers_.commit_input(n);
        // A record cut in two is the same case as a short read: the rest comes with an event.
        note_message_end(s, n < space.size());
    }
}

void tls_channel::send_answer(socket_type& s)
{
    if (buffers_.output().empty()) return;
    error_code ignored;
    send_now(s, ignored);
}

std::size_t tls_channel::read_buffered(asio::mutable_buffer into, socket_type& s)
{
    std::size_t total = 0;
    while (into.size() > 0 && holds_input()) {
        std::size_t n = 0;
        if (SSL_read_ex(ssl_, into.data(), into.size(), &n) != 1) break;
        total += n;
        into += n;
    }
    send_answer(s);
    return total;
}

awaitable<std::tuple<error_code, std::size_t>> tls_channel::read_some(socket_type& s,
                                                                      asio::mutable_buffer into)
{
    for (;;) {
        error_code ec;
        auto n = read_arrived(s, into, ec);
        if (ec != asio::error::would_block) co_return std::tuple{ec, n};
        const auto space = buffers_.input_space();
        std::tie(ec, n) = co_await s.async_read_some(space, use_tuple);
        if (ec) co_return std::tuple{ec, std::size_t{0}};
        buffers_.commit_input(n);
        note_message_end(s, n < space.size());
    }
}

tls_channel::arrival tls_channel::peek_arrival(socket_type& s)
{
    while (!peer_left_) {
        char byte = 0;
        std::size_t n = 0;
        const int got = SSL_peek_ex(ssl_, &byte, 1, &n);
        send_answer(s);
        if (got == 1) return arrival::data;
        if (!SSL_want_read(ssl_)) {
            ERR_clear_error();
            peer_left_ = true;
            break;
        }
        const auto space = buffers_.input_space();
        if (space.size() == 0) return arrival::data;
        error_code ec;
        n = s.read_some(space, ec);  // the socket is non-blocking
        if (ec == asio::error::would_block) return arrival::nothing;
        if (ec) return arrival::gone;  // its FIN, without a close_notify, or a reset
        buffers_.commit_input(n);
    }
    return arrival::gone;
}

bool tls_channel::peer_gone(socket_type& s) { return peek_arrival(s) == arrival::gone; }

bool tls_channel::sent_unasked(socket_type& s) { return peek_arrival(s) != arrival::nothing; }

bool tls_channel::holds_input() const { return buffers_.holds_input() || SSL_pending(ssl_) > 0; }

bool tls_channel::send_now(socket_type& s, error_code& ec)
{
    if (sending_) {
        ec = asio::error::would_block;
        return false;
    }
    auto& out = buffers_.output();
    if (out.empty()) return true;
    const auto n = s.write_some(asio::buffer(out), ec);
    if (ec && ec != asio::error::would_block) return false;
    out.erase(0, n);
    if (out.empty()) return true;
    ec = asio::error::would_block;
    return false;
}

awaitable<error_code> tls_channel::settle(socket_type& s)
{
    error_code ec;
    if (sending_) co_return ec;  // that coroutine sends these records too
    sending_ = true;
    while (!ec && !buffers_.output().empty()) {
        in_flight_.swap(buffers_.output());
        std::tie(ec, std::ignore) = co_await asio::async_write(s, asio::buffer(in_flight_),
                                                               use_tuple);
        if (in_flight_.capacity() > keep_at_most)
            std::string().swap(in_flight_);
        else
            in_flight_.clear();
    }
    sending_ = false;
    co_return ec;
}

void tls_channel::release_idle()
{
    if (sending_) return;
    buffers_.release_idle();
    std::string().swap(in_flight_);
}

bool tls_channel::queue(const void* data, std::size_t n) { return net::encrypt(ssl_, data, n); }

void tls_channel::queue_close()
{
    if (peer_left_) return;
    // As if the peer's close_notify had come: SSL_shutdown then only writes ours, at once.
    SSL_set_shutdown(ssl_, SSL_RECEIVED_SHUTDOWN);
    SSL_shutdown(ssl_);
    ERR_clear_error();
}

awaitable<error_code> tls_channel::close_when_sent(socket_type& s)
{
    queue_close();
    co_return co_await settle(s);
}

void tls_channel::close_send(socket_type& s)
{
    if (peer_left_ || sending_) return;
    SSL_shutdown(ssl_);  // without the peer's close_notify: writes ours, and reads go on
    ERR_clear_error();
    error_code ignored;
    send_now(s, ignored);
}

void tls_channel::close(socket_type& s)
{
    if (peer_left_ || sending_) return;
    queue_close();
    error_code ignored;
    send_now(s, ignored);
}

}  // namespace sluice::net
