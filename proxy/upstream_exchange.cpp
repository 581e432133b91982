// forward(): one request's trip to a backend server and back.
//
// Order of events: a slot on a server (maybe after queueing), a connection (pooled or new), the
// request head and body out, the response head back, the response body relayed to the client.
// The slot is given back as soon as the server has sent its last byte. A reused connection that
// turns out closed before any response byte is retried once on a new connection, for free, when
// nothing of the request body had to be sent (SPEC.md "Retries").
#include "proxy/body_relay.hpp"
#include "proxy/event_log.hpp"
#include "proxy/forwarding.hpp"
#include "proxy/slot_wait.hpp"
#include "proxy/upstream_connection.hpp"

namespace sluice::proxy {

namespace {

bool is_protocol_error(const error_code& ec)
{
    return ec.category() == make_error_code(http::error::bad_version).category() &&
           ec != http::error::end_of_stream && ec != http::error::partial_message &&
           ec != http::error::need_more && ec != http::error::header_limit;
}

// What the bytes a server sent look like, for the protocol-mismatch log line.
std::string describe_bytes(const beast::flat_buffer& b)
{
    std::string_view data(static_cast<const char*>(b.data().data()), std::min<std::size_t>(b.size(), 24));
    std::string out;
    for (unsigned char ch : data) {
        if (ch >= 0x20 && ch < 0x7f) {
            out += static_cast<char>(ch);
        } else {
            char hex[8];
            std::snprintf(hex, sizeof hex, "\\x%02x", ch);
            out += hex;
        }
    }
    return out.empty() ? "nothing" : "\"" + out + "\"";
}

enum class attempt_end { ok, stale, failed };

asio::awaitable<void> fail_upstream(client_connection& c, exchange& x, upstream_connection& u,
                                    const error_code& ec, bool timed_out)
{
    if (timed_out) {
        co_await send_local_reply(c, x, http::status::gateway_timeout, "server_timeout",
                                  "the server did not answer within timeouts.server");
    } else if (is_protocol_error(ec)) {
        log_event(severity::warning,
                  "backend " + x.backend_config->name + " server " + std::string(x.rec.server) +
                      " answered " + describe_bytes(u.buffer) +
                      ", which is not HTTP; if it is a uWSGI socket, set `protocol: uwsgi`");
        co_await send_local_reply(c, x, http::status::bad_gateway, "protocol_mismatch",
                                  "the server did not answer in HTTP");
    } else {
        co_await send_local_reply(c, x, http::status::bad_gateway, "server_reset",
                                  "the server closed the connection: " + ec.message());
    }
}

// The client's body broke off or broke the rules; the server connection is dropped with it.
asio::awaitable<void> fail_request_body(client_connection& c, exchange& x, const relay_result& r)
{
    c.keep_alive = false;
    if (r.ec == http::error::body_limit)
        co_await send_local_reply(c, x, http::status::payload_too_large, "body_too_large",
                                  "request body larger than limits.max_body");
    else if (is_protocol_error(r.ec))
        co_await send_local_reply(c, x, http::status::bad_request, "bad_request",
                                  "malformed request body: " + r.ec.message());
    else if (r.timed_out)
        co_await send_local_reply(c, x, http::status::request_timeout, "client_timeout",
                                  "request body not received in time");
    else
        x.rec.reason = "client_gone";
}

// Sends the request and reads the response head.
asio::awaitable<attempt_end> send_and_receive_head(client_connection& c, exchange& x,
                                                   upstream_connection& u,
                                                   std::optional<response_parser>& rp)
{
    const bool reused = u.requests > 0;
    if (x.expect_continue && !x.parser->is_done()) {
        static constexpr std::string_view continue_100 = "HTTP/1.1 100 Continue\r\n\r\n";
        x.expect_continue = false;
        c.deadline.arm(x.timeouts.client_idle);
        co_await asio::async_write(c.socket, asio::buffer(continue_100), use_tuple);
        c.deadline.disarm();
    }
    auto sent = co_await relay_message<true>(
        c.w, *x.parser, {c.socket, &c.buffer, c.deadline, x.timeouts.client_idle},
        {u.socket, nullptr, u.deadline, x.timeouts.server}, nullptr);
    x.rec.bytes_in += sent.bytes_read;
    if (sent.failed == relay_result::failure::read) {
        co_await fail_request_body(c, x, sent);
        co_return attempt_end::failed;
    }
    const bool nothing_sent_of_body = sent.bytes_read == 0;
    if (sent.failed == relay_result::failure::write) {
        if (reused && nothing_sent_of_body && !sent.timed_out)
            co_return attempt_end::stale;
        co_await fail_upstream(c, x, u, sent.ec, sent.timed_out);
        co_return attempt_end::failed;
    }
    const auto sent_at = clock::now();
    for (;;) {
        rp.emplace();
        rp->body_limit(boost::none);
        rp->header_limit(256 * 1024);
        if (x.request().method() == http::verb::head)
            rp->skip(true);
        u.deadline.arm(x.timeouts.server);
        auto [ec, n] = co_await http::async_read_header(u.socket, u.buffer, *rp, use_tuple);
        u.deadline.disarm();
        if (ec) {
            const bool empty = u.buffer.size() == 0 && !rp->got_some();
            if (reused && empty && nothing_sent_of_body && !u.deadline.expired())
                co_return attempt_end::stale;
            co_await fail_upstream(c, x, u, ec, u.deadline.expired());
            co_return attempt_end::failed;
        }
        const auto status = rp->get().result_int();
        if (status < 100 || status >= 200 || status == 101)
            break;
    }
    x.rec.response_ms = ms_since(sent_at);
    co_return attempt_end::ok;
}

// The response from its head on; returns whether the server connection can be reused.
asio::awaitable<bool> relay_response(client_connection& c, exchange& x, upstream_connection& u,
                                     response_parser& rp, slot_hold& slot)
{
    auto& res = rp.get();
    x.rec.status = res.result_int();
    const bool upgraded = x.upgrade && res.result() == http::status::switching_protocols;
    bool server_keep_alive = res.keep_alive() && !upgraded;
    if (!upgraded && !res.has_content_length() && !res.chunked() && rp.need_eof() &&
        c.version >= 11) {
        res.chunked(true);  // the server closes to end the body; the client keeps its connection
        server_keep_alive = false;
    } else if (rp.need_eof()) {
        c.keep_alive = false;
    }
    c.keep_alive = c.keep_alive && !c.w.draining;
    prepare_client_response(res.base(), c.version, c.keep_alive, upgraded);
    c.keep_alive = c.keep_alive && res.keep_alive();
    auto r = co_await relay_message<false>(
        c.w, rp, {u.socket, &u.buffer, u.deadline, x.timeouts.server},
        {c.socket, nullptr, c.deadline, x.timeouts.client_idle}, [&slot] { slot.release(); });
    x.rec.bytes_out += r.bytes_written;
    if (r.failed == relay_result::failure::read) {
        x.rec.reason = r.timed_out ? "server_timeout" : "server_reset";
        c.keep_alive = false;
        co_return false;
    }
    if (r.failed == relay_result::failure::write) {
        x.rec.reason = "client_gone";
        c.keep_alive = false;
        co_return false;
    }
    if (upgraded)
        co_await tunnel(c, u, x, x.timeouts.tunnel);
    co_return server_keep_alive && !upgraded;
}

asio::awaitable<std::unique_ptr<upstream_connection>> connect_to(client_connection& c,
                                                                 exchange& x, server_runtime& s)
{
    auto u = std::make_unique<upstream_connection>(c.w.io, c.w.sweeper);
    const auto began = clock::now();
    auto ec = co_await u->connect(s.endpoint, x.timeouts.connect);
    x.rec.connect_ms += ms_since(began);
    if (!ec)
        co_return u;
    if (ec == asio::error::timed_out)
        co_await send_local_reply(c, x, http::status::gateway_timeout, "connect_timeout",
                                  "no connection to the server within timeouts.connect");
    else
        co_await send_local_reply(c, x, http::status::bad_gateway, "connect_failure",
                                  "cannot connect to the server: " + ec.message());
    co_return nullptr;
}

// Counted always; logged at most once a minute per thread, with the fix.
void note_stale_retry(client_connection& c, exchange& x)
{
    const auto& b = *x.backend_config;
    c.w.metrics.retry(b.name, "stale_connection");
    const auto now = clock::now();
    if (now - c.w.last_stale_warning < std::chrono::minutes(1))
        return;
    c.w.last_stale_warning = now;
    log_event(severity::warning,
              "backend " + b.name + " server " + std::string(x.rec.server) +
                  " closed a pooled keep-alive connection before it was reused; the request was "
                  "retried on a new one. A steady rate of this means the pool outlives the "
                  "server's keep-alive: set keepalive.idle_timeout below the server's "
                  "keepalive_timeout (or declare keepalive_timeout)");
}

}  // namespace

asio::awaitable<void> forward(client_connection& c, exchange& x)
{
    auto slot_wait_began = clock::now();
    auto slot = co_await acquire_slot(c, x);
    x.rec.queue_ms = ms_since(slot_wait_began);
    x.asked_for_slot = true;
    switch (slot.outcome) {
    case slot_result::kind::granted: break;
    case slot_result::kind::queue_full:
        co_await send_local_reply(c, x, http::status::service_unavailable, "queue_full",
                                  "every server is busy and the backend's queue is full");
        co_return;
    case slot_result::kind::queue_timeout:
        co_await send_local_reply(c, x, http::status::service_unavailable, "queue_timeout",
                                  "no server slot became free within timeouts.queue");
        co_return;
    case slot_result::kind::refused:
        co_await send_local_reply(c, x, http::status::service_unavailable, "draining",
                                  "the proxy is shutting down");
        co_return;
    case slot_result::kind::client_gone:
        x.rec.reason = "client_gone";
        x.left_queue = true;
        c.keep_alive = false;
        co_return;
    }
    slot_hold hold(*x.backend, slot.server);
    auto& server = x.backend->server(slot.server);
    x.rec.server = server.name;
    auto& pool = server.pools[c.w.index];
    const auto& ka = x.backend_config->keepalive;

    prepare_upstream_request(x.request().base(), {c.client_ip, x.request_id, x.upgrade});
    auto u = pool.take(ka.idle_timeout, !x.parser->is_done());
    std::optional<response_parser> rp;
    for (int attempt = 0;; ++attempt) {
        if (!u && !(u = co_await connect_to(c, x, server)))
            co_return;
        auto end = co_await send_and_receive_head(c, x, *u, rp);
        if (end == attempt_end::ok)
            break;
        if (end == attempt_end::failed || attempt > 0)
            co_return;
        ++x.rec.retries;  // a stale pooled connection: the free retry
        note_stale_retry(c, x);
        u.reset();
    }
    ++u->requests;
    if (co_await relay_response(c, x, *u, *rp, hold) && ka.max_idle > 0)
        pool.put(std::move(u), ka.max_idle);
}

}  // namespace sluice::proxy
