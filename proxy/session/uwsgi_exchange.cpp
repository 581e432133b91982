// Sending a request to a `protocol: uwsgi` backend: the head as one uwsgi packet (uwsgi_request),
// then exactly CONTENT_LENGTH body bytes, unframed. The answer is the HTTP response uWSGI writes
// back, read by receive_head like any other; uWSGI closes after it, so these connections are never
// pooled.
//
// uWSGI reads exactly CONTENT_LENGTH bytes after the packet, so a chunked request body has to be
// read whole first to learn its length, as NGINX does. NGINX spills large ones to a temp file;
// sluice does no file I/O on an event loop, so it keeps up to 1 MiB in memory and answers a
// longer chunked body with 411 Length Required: the client can send it with Content-Length,
// which streams in bounded memory whatever its size.
#include "proxy/session/body_relay.hpp"
#include "net/socket_address.hpp"
#include "proxy/session/upstream_attempt.hpp"
#include "proxy/http/uwsgi_request.hpp"

#include <boost/asio/write.hpp>

#include <array>

namespace sluice::proxy {

namespace {

constexpr std::size_t max_buffered_body = 1024 * 1024;

// "example.com:8080" -> "example.com", "[::1]:80" -> "[::1]".
std::string_view without_port(std::string_view host)
{
    const auto colon = host.rfind(':');
    if (colon == std::string_view::npos || host.find(']', colon) != std::string_view::npos)
        return host;
    return host.substr(0, colon);
}

// The ports are read per uwsgi request rather than kept per connection: only uwsgi needs them.
// The caller keeps them alive while the head input (which holds views) is used.
struct endpoint_ports {
    std::string peer, local;
};

endpoint_ports ports_of(const client_connection& c)
{
    error_code ec;
    auto peer = health::host_and_port(c.socket.remote_endpoint(ec), ec).second;
    auto local = health::host_and_port(c.socket.local_endpoint(ec), ec).second;
    return {std::move(peer), std::move(local)};
}

uwsgi_head_input head_input(const client_connection& c, exchange& x, const endpoint_ports& ports)
{
    auto& req = x.request();
    uwsgi_head_input in;
    in.method = req.method_string();
    in.target = req.target();
    in.version = c.version >= 11 ? "HTTP/1.1" : "HTTP/1.0";
    for (const auto& field : req)
        if (!x.upstream_edits.leaves_out(field))
            in.headers.emplace_back(field.name_string(), field.value());
    x.upstream_edits.for_each([&in](std::string_view name, std::string_view value) {
        in.headers.emplace_back(name, value);
    });
    in.remote_addr = c.client_ip;
    in.remote_port = ports.peer;
    in.server_name = without_port(req[http::field::host]);
    in.server_port = ports.local;
    in.server_protocol_scheme = "http";
    if (x.buffered_body)
        in.content_length = x.buffered_body->size();
    else if (auto length = x.parser->content_length())
        in.content_length = *length;
    return in;
}

}  // namespace

awaitable<bool> buffer_body_for_uwsgi(client_connection& c, exchange& x)
{
    if (x.backend_config->protocol != config::protocol::uwsgi || x.parser->is_done() ||
        x.parser->content_length())
        co_return true;
    co_await send_continue(c, x);
    std::string body;
    const auto began = coarse_now();
    auto r = co_await read_body(c.w, *x.parser,
                                {c.socket, &c.buffer, c.deadline, x.timeouts.client_idle}, body,
                                max_buffered_body);
    x.rec.bytes_in += r.bytes_read;
    pause_deadline_for_body(x, began, r);
    if (r.ec == http::error::buffer_overflow) {
        c.keep_alive = false;
        co_await send_local_reply(c, x, http::status::length_required, "length_required",
                                  "a uwsgi backend needs the body's length first, and a chunked "
                                  "body over 1 MiB is not buffered: send it with Content-Length");
        co_return false;
    }
    if (r.failed != relay_result::failure::none) {
        co_await fail_request_body(c, x, r);
        co_return false;
    }
    x.buffered_body = std::move(body);
    co_return true;
}

awaitable<attempt_state> send_uwsgi_request(client_connection& c, exchange& x,
                                                  upstream_connection& u)
{
    attempt_state st;
    const auto ports = ports_of(c);
    auto packet = encode_uwsgi_request(head_input(c, x, ports));
    if (!packet.error.empty()) {
        c.keep_alive = false;
        co_await send_local_reply(c, x, http::status::request_header_fields_too_large,
                                  "header_too_large", packet.error);
        st.end = attempt_end::client_failed;
        co_return st;
    }
    const std::string_view body = x.buffered_body ? *x.buffered_body : std::string_view{};
    std::array<asio::const_buffer, 2> head{asio::buffer(packet.packet), asio::buffer(body)};
    u.deadline.arm(x.timeouts.server);
    auto [ec, n] = co_await asio::async_write(u.socket, head, use_tuple);
    u.deadline.disarm();
    // A body read from the client is never sent twice, even one kept in memory.
    st.body_sent = !body.empty();
    if (ec) {
        st.ec = ec;
        st.end = u.deadline.expired() ? attempt_end::server_timeout
                 : st.body_sent       ? attempt_end::reset
                                      : attempt_end::empty_response;
        co_return st;
    }
    if (x.parser->is_done())
        co_return st;
    co_await send_continue(c, x);
    const auto began = coarse_now();
    auto sent = co_await relay_body_bytes(
        c.w, *x.parser, {c.socket, &c.buffer, c.deadline, x.timeouts.client_idle},
        {u.socket, nullptr, u.deadline, x.timeouts.server});
    x.rec.bytes_in += sent.bytes_read;
    pause_deadline_for_body(x, began, sent);
    st.body_sent = st.body_sent || sent.bytes_read > 0;
    st.ec = sent.ec;
    if (sent.failed == relay_result::failure::read) {
        co_await fail_request_body(c, x, sent);
        st.end = attempt_end::client_failed;
    } else if (sent.failed == relay_result::failure::write) {
        st.end = sent.timed_out ? attempt_end::server_timeout : attempt_end::reset;
    }
    co_return st;
}

}  // namespace sluice::proxy
