#include "proxy/session/request_buffering.hpp"

#include "proxy/log/event_log.hpp"
#include "proxy/session/body_relay.hpp"
#include "proxy/session/local_reply.hpp"
#include "proxy/session/upstream_attempt.hpp"
#include "proxy/session/upstream_failure.hpp"

namespace sluice::proxy {

bool body_goes_first(const client_connection& c, const exchange& x)
{
    if (x.parser->is_done() || x.upgrade) return false;
    const auto left = x.parser->content_length_remaining();
    if (!left && x.backend_config->protocol == config::protocol::uwsgi) return true;
    if (!x.backend_config->buffering.request) return false;
    return !(left && *left <= c.buffer.size());
}

namespace {

awaitable<void> fail_store(client_connection& c, exchange& x, const relay_result& r)
{
    c.keep_alive = false;
    if (r.ec == http::error::body_limit) {
        co_await send_local_reply(c, x, http::status::payload_too_large, "body_too_large",
                                  "request body larger than the backend's buffering.max_spool");
        co_return;
    }
    log_event(severity::error, "backend " + x.backend_config->name +
                                   ": cannot spool a request body (" + r.ec.message() +
                                   "); check buffering.spool_dir and the free space there");
    co_await send_local_reply(c, x, http::status::internal_server_error, "spool_failed",
                              "the request body could not be buffered: " + r.ec.message());
}

}  // namespace

awaitable<bool> buffer_request_body(client_connection& c, exchange& x)
{
    co_await send_continue(c, x);
    const auto& b = x.backend_config->buffering;
    auto& body = x.body.emplace(body_store::limits{b.memory, b.max_spool, b.spool_dir});
    const auto began = clock::now();
    const auto began_coarse = coarse_now();
    auto r = co_await read_body(
        c.w, *x.parser, {client_stream(c), &c.buffer, c.deadline, x.timeouts.client_body}, body);
    x.rec.body_ms = ms_since(began);
    x.rec.bytes_in += r.bytes_read;
    pause_deadline_for_body(x, began_coarse, r);
    if (r.failed == relay_result::failure::store) {
        co_await fail_store(c, x, r);
        co_return false;
    }
    if (r.failed != relay_result::failure::none) {
        co_await fail_request_body(c, x, r);
        co_return false;
    }
    if (x.parser->chunked()) {
        x.request().erase(http::field::transfer_encoding);
        x.request().content_length(body.size());
    }
    co_return true;
}

}  // namespace sluice::proxy
