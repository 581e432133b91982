#include "proxy/session/local_reply.hpp"

#include <boost/beast/core/buffers_range.hpp>

namespace sluice::proxy {

namespace {

// The reply as one piece of text, which a TLS stream encrypts as one record.
std::string to_text(const http::response<http::string_body>& res)
{
    http::response_serializer<http::string_body> sr{res};
    std::string text;
    error_code ec;
    while (!ec && !sr.is_done()) {
        sr.next(ec, [&](error_code&, const auto& buffers) {
            for (const auto b : beast::buffers_range_ref(buffers))
                text.append(static_cast<const char*>(b.data()), b.size());
            sr.consume(asio::buffer_size(buffers));
        });
    }
    return text;
}

}  // namespace

awaitable<void> send_local_reply(client_connection& c, exchange& x, http::status status,
                                 std::string_view reason, std::string_view message)
{
    // The connection can carry another request only if this one was read to its end.
    const bool request_read = x.parser && x.parser->is_header_done() && x.parser->is_done();
    c.keep_alive = c.keep_alive && request_read && static_cast<unsigned>(status) >= 500 &&
                   !c.w.draining;
    x.rec.status = static_cast<unsigned>(status);
    x.rec.reason = reason;

    http::response<http::string_body> res{status, 11};
    res.set(http::field::server, "sluice");
    res.set(http::field::content_type, "text/plain; charset=utf-8");
    if (!x.request_id.empty()) res.set("X-Request-Id", x.request_id);
    if (status == http::status::service_unavailable) {
        res.set(http::field::retry_after, "1");
        // The proxy's 503s (queue full, queue timeout, draining) all come before any of the
        // request reached an app: a sluice in front may send it elsewhere whatever its method.
        if (const auto& name = x.snap->config.scale_out.not_processed_header; !name.empty())
            res.set(name, "1");
    }
    res.body() = std::string(http::obsolete_reason(status)) + " (" + std::string(reason) +
                 "): " + std::string(message) + "\n";
    res.keep_alive(c.keep_alive);
    res.prepare_payload();

    const auto text = to_text(res);
    c.deadline.arm(x.timeouts.client_send);
    auto [ec, n] = co_await net::write_all(client_stream(c), asio::buffer(text));
    c.deadline.disarm();
    x.rec.bytes_out += n;
    if (ec) c.keep_alive = false;
}

}  // namespace sluice::proxy
