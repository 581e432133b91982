// Sending a request to a `protocol: uwsgi` backend: the head as one uwsgi packet (uwsgi_request),
// then exactly CONTENT_LENGTH body bytes, unframed. The answer is the HTTP response uWSGI writes
// back, read by receive_head like any other; uWSGI closes after it, so these connections are never
// pooled.
//
// uWSGI reads exactly CONTENT_LENGTH bytes after the packet, so a chunked request body is read
// whole first to learn its length, as NGINX does: request_buffering keeps it in memory and then
// an unlinked spool file, up to buffering.max_spool.
#include "proxy/session/uwsgi_exchange.hpp"

#include "net/socket_address.hpp"
#include "proxy/http/uwsgi_request.hpp"
#include "proxy/session/body_relay.hpp"
#include "proxy/session/local_reply.hpp"
#include "proxy/session/upstream_failure.hpp"

#include <boost/asio/write.hpp>

#include <array>

namespace sluice::proxy {

namespace {

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
    if (c.origin) return {c.origin->port, c.origin->local_port};
    error_code ec;
    auto peer = net::host_and_port(c.socket.remote_endpoint(ec), ec).second;
    auto local = net::host_and_port(c.socket.local_endpoint(ec), ec).second;
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
    in.server_protocol_scheme = c.origin ? "https" : "http";
    if (x.body)
        in.content_length = x.body->size();
    else if (auto length = x.parser->content_length())
        in.content_length = *length;
    return in;
}

}  // namespace

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
    // The packet, with the body when the proxy holds it; a streamed body follows.
    static const body_store no_body{{}};
    auto packet_sent = co_await write_stored(c.w, packet.packet, x.body ? *x.body : no_body,
                                             {upstream_stream(u), nullptr, u.deadline,
                                              x.timeouts.server});
    st.ec = packet_sent.ec;
    if (packet_sent.failed != relay_result::failure::none) {
        st.end = packet_sent.timed_out ? attempt_end::server_timeout : attempt_end::empty_response;
        st.write_failed = packet_sent.failed == relay_result::failure::write &&
                          !packet_sent.timed_out;
        co_return st;
    }
    if (x.body || x.parser->is_done()) co_return st;
    co_await send_continue(c, x);
    const auto began = coarse_now();
    auto sent = co_await relay_body_bytes(
        c.w, *x.parser, {client_stream(c), &c.buffer, c.deadline, x.timeouts.client_body},
        {upstream_stream(u), nullptr, u.deadline, x.timeouts.server});
    x.rec.bytes_in += sent.bytes_read;
    pause_deadline_for_body(x, began, sent);
    st.body_sent = sent.bytes_read > 0;
    st.ec = sent.ec;
    if (sent.failed == relay_result::failure::read) {
        co_await fail_request_body(c, x, sent);
        st.end = attempt_end::client_failed;
    } else if (sent.failed == relay_result::failure::write) {
        st.end = sent.timed_out ? attempt_end::server_timeout : attempt_end::reset;
        st.write_failed = !sent.timed_out;
    }
    co_return st;
}

}  // namespace sluice::proxy
