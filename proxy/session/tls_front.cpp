#include "proxy/session/tls_front.hpp"

#include "net/accepted_socket.hpp"
#include "net/read_readiness.hpp"
#include "net/socket_address.hpp"
#include "net/tls_channel.hpp"
#include "net/tls_failure.hpp"
#include "net/tls_server_context.hpp"
#include "net/tls_transport.hpp"
#include "proxy/log/access_record.hpp"
#include "proxy/log/event_log.hpp"
#include "proxy/runtime/worker.hpp"
#include "proxy/session/proxy_header_read.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <openssl/ssl.h>

#include <array>
#include <cstring>

#include <sys/socket.h>

namespace sluice::proxy {

namespace {

namespace asio = boost::asio;
using boost::system::error_code;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable_t<executor_type>{});

// The listener counts the connection until a session takes it over, or until it closes here.
struct owner_guard {
    std::shared_ptr<connection_owner> owner;
    ~owner_guard()
    {
        if (owner) owner->on_closed();
    }
};

// One connection of a TLS listener, from accept to close.
struct tls_link {
    tls_link(worker& w, socket_type tcp, std::shared_ptr<connection_owner> owner,
             std::shared_ptr<const net::tls_server_context> ctx, SSL* ssl)
        : w(w), guard{std::move(owner)}, ctx(std::move(ctx)),
          tls(net::tls_transport(std::move(tcp)), ssl), deadline(w.sweeper, tcp_socket()),
          origin(std::make_unique<client_origin>())
    {
        error_code ec;
        auto [ip, port] = net::host_and_port(tcp_socket().remote_endpoint(ec), ec);
        origin->ip = std::move(ip);
        origin->port = std::move(port);
        auto [local_ip, local_port] = net::host_and_port(tcp_socket().local_endpoint(ec), ec);
        origin->local_ip = std::move(local_ip);
        origin->local_port = std::move(local_port);
    }

    socket_type& tcp_socket() { return tls.next_layer().socket(); }
    const std::string& listener() const { return guard.owner->name(); }

    worker& w;
    // Before the stream, so destroyed after it: the listener counts the connection until its
    // socket is closed, not before.
    owner_guard guard;
    std::shared_ptr<const net::tls_server_context> ctx;  // outlives the handshake's callbacks
    boost::asio::ssl::stream<net::tls_transport> tls;    // for the handshake only
    struct deadline deadline;                            // of the handshake
    std::unique_ptr<client_origin> origin;
};

void log_refused(tls_link& l, std::string_view reason, std::string_view detail)
{
    auto& owner = *l.guard.owner;
    const auto unlogged = owner.handshake_log.allow();
    if (!unlogged) return;
    log_event(severity::warning,
              "listener " + owner.name() + ": TLS handshake with " +
                  (l.origin->ip.empty() ? std::string("a unix socket client") : l.origin->ip) +
                  " failed, reason: " + std::string(reason) + ": " + std::string(detail) +
                  rate_limit::unlogged_note(*unlogged));
}

void count_failure(tls_link& l, std::string_view reason, std::string_view detail)
{
    l.w.metrics.tls_handshake_error(l.listener(), reason);
    log_refused(l, reason, detail);
}

enum class first_bytes { tls, plain_http, other, none };

// A TLS connection starts with a handshake record (0x16); a request line starts with a method's
// capital letter. A peeking read rather than a wait: the client hello has often arrived by now,
// and a wait costs an epoll_ctl.
awaitable<first_bytes> peek_first_byte(tls_link& l)
{
    unsigned char byte = 0;
    auto [ec, n] = co_await l.tcp_socket().async_receive(asio::buffer(&byte, 1),
                                                         socket_type::message_peek, use_tuple);
    if (ec || n != 1) co_return first_bytes::none;
    if (byte == 0x16) co_return first_bytes::tls;
    co_return byte >= 'A' && byte <= 'Z' ? first_bytes::plain_http : first_bytes::other;
}

// Plain HTTP on a TLS port: a plain-text 400 that says so, and a line in the access log.
awaitable<void> refuse_plain_http(tls_link& l)
{
    std::array<char, 4096> request;  // read first, so that closing does not reset the reply
    const auto got = ::recv(l.tcp_socket().native_handle(), request.data(), request.size(),
                            MSG_DONTWAIT);
    const std::string_view head(request.data(), got > 0 ? static_cast<std::size_t>(got) : 0);
    const auto line = head.substr(0, head.find_first_of("\r\n"));
    const auto method_end = std::min(line.find(' '), line.size());
    const auto target = line.substr(std::min(method_end + 1, line.size()));

    static const std::string reply = [] {
        const std::string body =
            "Bad Request (plain_http_on_tls): this port speaks HTTPS; use https://\n";
        return "HTTP/1.1 400 Bad Request\r\nServer: sluice\r\n"
               "Content-Type: text/plain; charset=utf-8\r\nContent-Length: " +
               std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    }();
    l.deadline.arm(l.w.current->config.timeouts.client_send);
    auto [ec, n] = co_await asio::async_write(l.tcp_socket(), asio::buffer(reply), use_tuple);
    l.deadline.disarm();
    error_code ignored;
    l.tcp_socket().shutdown(socket_type::shutdown_send, ignored);
    count_failure(l, "plain_http_on_tls", "plain HTTP sent to a TLS port (answered 400)");

    const auto id = l.w.next_request_id();
    access_record rec;
    rec.request_id = {id.data(), id.size()};
    rec.client = l.origin->ip;
    rec.listener = l.listener();
    rec.method = line.substr(0, method_end);
    rec.path = target.substr(0, target.find(' '));
    rec.status = 400;
    rec.reason = "plain_http_on_tls";
    rec.bytes_in = head.size();
    rec.bytes_out = n;
    rec.time_unix_ms = unix_ms_now();
    l.w.metrics.record({rec.listener, "", "", 400, 0, std::nullopt, rec.reason});
    if (l.w.log) l.w.log->write(to_json_line(rec));
}

awaitable<bool> handshake(tls_link& l)
{
    auto [ec] = co_await l.tls.async_handshake(asio::ssl::stream_base::server, use_tuple);
    const bool timed_out = l.deadline.expired();
    l.deadline.disarm();
    if (ec) {
        count_failure(l, net::tls_failure_reason(ec, timed_out),
                      timed_out ? "not done within timeouts.client_header" : ec.message());
        co_return false;
    }
    SSL* ssl = l.tls.native_handle();
    l.origin->tls_version = SSL_get_version(ssl);
    if (const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)) l.origin->sni = sni;
    const bool resumed = SSL_session_reused(ssl) == 1;
    l.w.metrics.tls_handshake(l.listener(), l.origin->tls_version, resumed);
    // A resumed TLS 1.2 handshake ends with the client's Finished, which nothing from this side
    // answers: a client with Nagle on holds its request until that is acknowledged, and the
    // listener's sockets delay their ACKs (net/accepted_socket.hpp).
    if (resumed && SSL_version(ssl) < TLS1_3_VERSION) net::acknowledge_now(l.tcp_socket());
    co_return true;
}

// Hands the session the connection: its socket, its origin and its TLS state. Asio's stream
// (and the buffers it keeps for the handshake) goes; the SSL stays, on buffers of the session's.
void start_session(tls_link& l)
{
    l.origin->tls = net::tls_channel::after_handshake(l.tls.native_handle());
    if (!l.origin->tls) return;
    start_client_session(l.w, std::move(l.tcp_socket()), std::move(l.guard.owner),
                         std::move(l.origin));
}

awaitable<void> serve_tls(std::unique_ptr<tls_link> link, config::proxy_protocol proxy_protocol)
{
    auto& l = *link;
    l.deadline.arm(l.w.current->config.timeouts.client_header);
    // First, so that the handshake's short reads spare the next read a failed recv.
    net::watch_peer_shutdown(l.tcp_socket());
    if (proxy_protocol != config::proxy_protocol::off &&
        !co_await read_proxy_header_exact(l.tcp_socket(), l.deadline, *l.guard.owner,
                                          proxy_protocol, l.origin->ip))
        co_return;
    switch (co_await peek_first_byte(l)) {
    case first_bytes::tls: break;
    case first_bytes::plain_http: co_await refuse_plain_http(l); co_return;
    case first_bytes::other:
        count_failure(l, "not_tls", "the first bytes are not a TLS handshake");
        co_return;
    case first_bytes::none:
        if (l.deadline.expired())
            count_failure(l, "timeout", "no handshake within timeouts.client_header");
        co_return;
    }
    if (co_await handshake(l)) start_session(l);
}

}  // namespace

void start_tls_front(worker& w, socket_type socket, std::shared_ptr<connection_owner> owner,
                     std::shared_ptr<const net::tls_server_context> tls,
                     config::proxy_protocol proxy_protocol)
{
    SSL* ssl = tls->new_session();
    if (!ssl) {
        owner->on_closed();
        return;
    }
    // TCP_NODELAY comes from the listening socket (net::listen_on), as on the plain path.
    auto link = std::make_unique<tls_link>(w, std::move(socket), std::move(owner), std::move(tls),
                                           ssl);
    asio::co_spawn(w.io, serve_tls(std::move(link), proxy_protocol), asio::detached);
}

}  // namespace sluice::proxy
