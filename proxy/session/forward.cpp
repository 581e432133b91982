// forward(): one request's trip to a backend server and back.
//
// Order of events: a slot on a server (maybe after queueing), a connection (pooled or new), the
// request head and body out, the response head back, the response body relayed to the client.
// The slot is given back as soon as the server has sent its last byte. A failed attempt may be
// tried again (retry_policy.hpp says when): a stale pooled connection on a new connection to the
// same server, anything else on another server when the backend has one. Every attempt that says
// something about the server's health is reported to the backend (passive health).
#include "proxy/session/forward.hpp"

#include "proxy/backend/retry_policy.hpp"
#include "proxy/http/deadline_header.hpp"
#include "proxy/http/hop_by_hop.hpp"
#include "proxy/session/body_relay.hpp"

#include "proxy/session/local_reply.hpp"
#include "proxy/session/request_buffering.hpp"
#include "proxy/session/slot_wait.hpp"
#include "proxy/session/tunnel.hpp"
#include "proxy/session/upstream_failure.hpp"
#include "proxy/session/uwsgi_exchange.hpp"

#include <algorithm>

#include <sys/socket.h>

#include <cerrno>

namespace sluice::proxy {

namespace {

bool is_uwsgi(const exchange& x) { return x.backend_config->protocol == config::protocol::uwsgi; }

// Asks the backend for a slot; a free one comes at once, without a suspension.
slot_table::admission ask_for_slot(client_connection& c, exchange& x)
{
    x.asked_for_slot = true;
    return x.backend->slots().admit(c.w.io);
}

// Why the wait ended and, when no server could take requests at all, why not (a down server's
// last check, with its protocol hint): the 503 is where an operator looks first.
std::string queue_timeout_message(const exchange& x)
{
    std::string message = clock::now() >= x.deadline
                              ? "no server slot became free within the request's deadline"
                              : "no server slot became free within timeouts.queue";
    if (auto why = x.backend->health().unavailable_reason(); !why.empty()) message += ": " + why;
    return message;
}

// A slot on some server after `admission` granted none at once; nullopt when a local reply
// ended the request.
awaitable<std::optional<std::size_t>> wait_for_slot(client_connection& c, exchange& x,
                                                    slot_table::admission admission,
                                                    const std::function<void()>& on_queued = {})
{
    auto slot = co_await acquire_slot(c, x, std::move(admission), on_queued);
    x.rec.queue_ms += std::chrono::duration<double, std::milli>(slot.waited).count();
    using kind = slot_result::kind;
    switch (slot.outcome) {
    case kind::granted: co_return slot.server;
    case kind::queue_full:
        co_await send_local_reply(c, x, http::status::service_unavailable, "queue_full",
                                  "every server is busy and the backend's queue is full");
        break;
    case kind::queue_timeout:
        // 503 even when the request's deadline ended the wait: no server has seen the request,
        // so it is safe to send again, and the cause to fix is capacity (HAProxy answers 503).
        co_await send_local_reply(c, x, http::status::service_unavailable, "queue_timeout",
                                  queue_timeout_message(x));
        break;
    case kind::refused:
        co_await send_local_reply(c, x, http::status::service_unavailable, "draining",
                                  "the proxy is shutting down");
        break;
    case kind::client_gone:
        x.rec.reason = "client_gone";
        x.left_queue = true;
        c.keep_alive = false;
        break;
    }
    co_return std::nullopt;
}

// Moves the request to another server's slot when the backend has one. Asking while still holding
// the failed server's slot makes the balancer count that server as the busier one (a full one
// cannot be granted at all), so the retry goes elsewhere; the old slot is released after. If the
// request has to queue, the old slot goes back first: two retrying requests must not each hold
// the slot the other waits for.
awaitable<bool> move_to_another_server(client_connection& c, exchange& x,
                                       std::optional<slot_hold>& hold, std::size_t& server)
{
    if (x.backend->active_servers().size() < 2) co_return true;
    auto admission = ask_for_slot(c, x);
    std::optional<std::size_t> next = admission.server;
    if (admission.result != request_queue::outcome::granted)
        next = co_await wait_for_slot(c, x, std::move(admission), [&hold] { hold.reset(); });
    if (!next) co_return false;
    hold.emplace(x.backend->slots(), *next, x.rec.slot_ms);
    server = *next;
    co_return true;
}

// After the server stopped reading the request: an app may answer before it has read the whole
// body (its own 413, or a 200 that ignores the body) and close. Its answer, when one came, is the
// response (as with NGINX), not a 502; the server connection is not reused after it, nor the
// client's when part of its body was left unread.
awaitable<void> take_early_answer(client_connection& c, exchange& x, upstream_connection& u,
                                  std::optional<response_parser>& rp, attempt_state& st)
{
    auto answer = co_await receive_head(c, x, u, rp);
    if (answer.end != attempt_end::ok) co_return;
    answer.write_failed = true;
    st = answer;
    if (!x.body && !x.parser->is_done()) c.keep_alive = false;
}

// One attempt on `server`: a connection (pooled, else new), the request out, the response head in.
// After a stale pooled connection, `may_reuse` is false: its pool-mates idled as long and are as
// likely dead, so the free retry goes out on a new connection.
awaitable<attempt_state> attempt(client_connection& c, exchange& x, std::size_t server,
                                 bool may_reuse, std::unique_ptr<upstream_connection>& u,
                                 std::optional<response_parser>& rp)
{
    auto& s = x.backend->server(server);
    x.rec.server = s.name;
    if (coarse_now() >= x.deadline) co_return attempt_state{attempt_end::request_timeout};
    const bool sends_proxy = s.send_proxy.load(std::memory_order_relaxed) !=
                             config::proxy_protocol::off;
    if (may_reuse && !is_uwsgi(x))
        u = s.pools[c.w.index].take(x.backend_config->keepalive.idle_timeout, !x.parser->is_done(),
                                    sends_proxy ? proxied_client_key(c) : std::string_view(),
                                    s.tls_generation.load(std::memory_order_acquire));
    const bool reused = u != nullptr;
    if (!reused) {
        free_idle_elsewhere(c, x, server);
        auto st = co_await connect_to(c, x, s, u);
        if (st.end != attempt_end::ok) co_return st;
    }
    if (const auto& name = x.backend_config->deadline_header; !name.empty())
        set_deadline_header(x.upstream_edits, name,
                            std::chrono::duration_cast<std::chrono::milliseconds>(x.deadline -
                                                                                  clock::now()));
    // Two statements, not `co_await (a ? b : c)`, which GCC miscompiles.
    attempt_state st;
    if (is_uwsgi(x))
        st = co_await send_uwsgi_request(c, x, *u);
    else
        st = co_await send_http_request(c, x, *u);
    // What the send says of the body outlives the states the response's head read replaces it
    // with: a body that went out must stop a retry, which could not send it again.
    const bool body_sent = st.body_sent;
    if (st.end == attempt_end::ok)
        st = co_await receive_head(c, x, *u, rp);
    else if (st.write_failed)
        co_await take_early_answer(c, x, *u, rp, st);
    st.body_sent = body_sent;
    st.reused = reused;
    if (st.end != attempt_end::ok)
        st.answered_before = s.answered.load(std::memory_order_relaxed) > 0;
    co_return st;
}

// The label of a failure that says something about the server, else "": a stale pooled
// connection is the proxy's keep-alive race, a broken client body the client's fault, and a passed
// request deadline may be the queue's or the client's doing.
std::string_view health_failure(const attempt_state& st)
{
    switch (st.end) {
    case attempt_end::connect_failed: return "connect_failure";
    case attempt_end::connect_timeout: return "connect_timeout";
    case attempt_end::tls_failed: return "tls_handshake";
    case attempt_end::empty_response: return st.reused ? "" : "empty_response";
    case attempt_end::reset: return "server_reset";
    case attempt_end::server_timeout: return "server_timeout";
    case attempt_end::not_http: return "protocol_mismatch";
    default: return "";
    }
}

// Passive health: how the attempt went, when it says something about the server.
void report(exchange& x, std::size_t server, const attempt_state& st, unsigned status)
{
    if (st.end != attempt_end::ok) {
        if (auto what = health_failure(st); !what.empty())
            x.backend->health().report_result(server, true, what);
        return;
    }
    const bool failed = status == 502 || status == 503 || status == 504;
    x.backend->health().report_result(server, failed, failed ? "5xx status from the server" : "");
}

// A 503 from another sluice that says nothing of the request reached an app.
bool not_processed(const exchange& x, const response_parser::value_type& res)
{
    const auto& name = x.snap->config.scale_out.not_processed_header;
    return res.result() == http::status::service_unavailable && !name.empty() && res[name] == "1";
}

// Whether the failed attempt `st` is tried again; counts and logs the retry when it is.
retry_decision consider_retry(client_connection& c, exchange& x, const attempt_state& st,
                              retry_budget& budget)
{
    const bool connect = st.end == attempt_end::connect_failed ||
                         st.end == attempt_end::connect_timeout ||
                         st.end == attempt_end::tls_failed;
    if (!connect && st.end != attempt_end::empty_response) return {};
    const attempt_failure failure{
        connect ? attempt_failure::kind::connect_failure : attempt_failure::kind::empty_response,
        st.reused, st.body_sent, is_idempotent(x.request().method_string()), st.waited};
    auto d = decide_retry(failure, x.backend_config->retries, budget);
    if (d.what == retry_decision::kind::none) return d;
    ++x.rec.retries;
    c.w.metrics.retry(x.backend_config->name, d.reason);
    if (d.what == retry_decision::kind::free_stale) note_stale_retry(c, x);
    return d;
}

// What forward() lets go of at the server's last byte, before a slow client has taken the
// response from the backlog: the slot, and the connection, pooled or closed. A keep-alive app
// server's worker stays with its connection while that is open, so the next request must find it
// in the pool, or the worker free. Pooled before the slot goes: the slot's next holder, maybe on
// another thread, then counts it (free_idle_elsewhere).
struct server_release {
    client_connection& c;
    exchange& x;
    std::optional<slot_hold>& hold;
    std::size_t server;
    bool sent_whole;  // the request went out whole: the connection may carry another
    std::unique_ptr<upstream_connection>& u;

    // `tunnel`: the connection goes on after an upgrade, neither pooled nor closed. Bytes read
    // past the response's end are none of the next response's: a server that sent them is not
    // given another request on that connection.
    void operator()(bool reusable, bool tunnel)
    {
        const auto max_idle = x.backend_config->keepalive.max_idle;
        if (reusable && sent_whole && max_idle > 0 && !x.backend->retired() &&
            u->buffer.size() == 0)
            x.backend->server(server).pools[c.w.index].put(std::move(u), max_idle);
        else if (!tunnel)
            u.reset();
        hold->release();
    }
};

// The response from its head on. `release` runs at the server's last byte (or when the server
// failed and the client still gets what it had sent), before the client has taken the response.
awaitable<void> relay_response(client_connection& c, exchange& x, upstream_connection& u,
                               response_parser& rp, server_release& release)
{
    auto& res = rp.get();
    x.rec.status = res.result_int();
    const bool upgraded = x.upgrade && res.result() == http::status::switching_protocols;
    // The parser's flags rather than the fields': no lookups by name.
    bool server_keep_alive = rp.keep_alive() && !upgraded && !is_uwsgi(x);
    bool chunked = rp.chunked();
    if (!upgraded && !rp.content_length() && !chunked && rp.need_eof() && c.version >= 11) {
        res.chunked(true);  // the server closes to end the body; the client keeps its connection
        chunked = true;
        server_keep_alive = false;
    } else if (rp.need_eof()) {
        c.keep_alive = false;
    }
    head_edits edits{header_allocator(&x.arena)};
    c.keep_alive = prepare_client_response(res.base(), c.version, c.keep_alive && !c.w.draining,
                                           upgraded, chunked, edits);
    const bool chunked_out = chunked && c.version >= 11;  // 1.0 clients get it close-delimited
    const auto& buffering = x.backend_config->buffering;
    const body_store::limits backlog{buffering.memory, buffering.max_spool, buffering.spool_dir};
    auto r = co_await relay_message<false>(
        c.w, rp, edits, chunked_out,
        {upstream_stream(u), &u.buffer, u.deadline, x.timeouts.server, nullptr, &u.slow_sender},
        {client_stream(c), nullptr, c.deadline, x.timeouts.client_send,
         buffering.response && !upgraded ? &backlog : nullptr, nullptr, !c.keep_alive && !upgraded},
        // A pointer and two flags: small enough for std::function to hold without allocating.
        [release = &release, keep = server_keep_alive && !upgraded, upgraded](bool whole) {
            (*release)(whole && keep, upgraded);
        });
    x.rec.bytes_out += r.bytes_written;
    if (r.failed == relay_result::failure::read) {
        c.keep_alive = false;
        if (r.bytes_written == 0) {
            // A small body travels whole, so nothing has reached the client yet: it gets an
            // answer rather than a silent close.
            co_await send_local_reply(
                c, x, r.timed_out ? http::status::gateway_timeout : http::status::bad_gateway,
                r.timed_out ? "server_timeout" : "server_reset",
                "the server stopped in the middle of its response");
            co_return;
        }
        x.rec.reason = r.timed_out ? "server_timeout" : "server_reset";
        co_return;
    }
    if (r.failed == relay_result::failure::write || r.failed == relay_result::failure::store) {
        // The server's status never reached the client whole: it is not what the client got.
        // Unless the exit closed the socket: the log then keeps the status the client was sent.
        if (!c.w.stopping) x.rec.status = 499;
        x.rec.reason = r.failed == relay_result::failure::store ? "spool_failed" : "client_gone";
        c.keep_alive = false;
        co_return;
    }
    if (upgraded)
        co_await tunnel(c, u, x, x.timeouts.tunnel);
    else if (!c.keep_alive && client_stream(c).tls)
        co_await end_sending_whole(c, x.timeouts.client_send);
    else if (!c.keep_alive)
        end_sending(c);
}

// Whether the client closed its connection while the server worked on its request: a peek that
// takes no bytes (a pipelined request stays where it is). A syscall, so only for requests that
// took long enough for a client to give up on them; a fast one that meets a closed client fails
// at its write.
bool client_left(client_connection& c, const exchange& x)
{
    if (coarse_now() - x.start < std::chrono::milliseconds(50)) return false;
    if (auto* tls = client_stream(c).tls) return tls->peer_gone(c.socket);
    char byte;
    const auto n = ::recv(c.socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

}  // namespace

awaitable<void> forward(client_connection& c, exchange& x)
{
    // Checked here, not only inside: a coroutine call costs a frame even when it does nothing.
    if (body_goes_first(c, x)) {
        if (!co_await buffer_request_body(c, x)) co_return;
    }
    auto admission = ask_for_slot(c, x);
    std::optional<std::size_t> server = admission.server;
    if (admission.result != request_queue::outcome::granted)
        server = co_await wait_for_slot(c, x, std::move(admission));
    if (!server) co_return;
    std::optional<slot_hold> hold;
    hold.emplace(x.backend->slots(), *server, x.rec.slot_ms);
    const auto& trusted = x.listener->config->trusted_proxies;
    const bool trusted_client = std::any_of(trusted.begin(), trusted.end(), [&](const auto& r) {
        return config::contains(r, c.client_ip);
    });
    prepare_upstream_request(x.request().base(),
                             {c.client_ip, x.request_id, x.upgrade, trusted_client,
                              c.origin != nullptr},
                             x.upstream_edits);
    std::unique_ptr<upstream_connection> u;
    std::optional<response_parser> rp;
    retry_budget budget;
    bool server_reusable = true;
    for (;;) {
        auto st = co_await attempt(c, x, *server, !budget.free_used, u, rp);
        // The exit closed the sockets: no verdict on the server, no retry, no answer to send
        // (record() logs it as the exit's).
        if (c.w.stopping && st.end != attempt_end::ok) co_return;
        if (st.end == attempt_end::ok && not_processed(x, rp->get())) {
            // Not the server's failure, nor its success: it refused before any app saw it.
            if (retry_not_processed(st.body_sent, x.backend->active_servers().size(), budget)) {
                ++x.rec.retries;
                c.w.metrics.retry(x.backend_config->name, "not_processed");
                u.reset();
                if (!co_await move_to_another_server(c, x, hold, *server)) co_return;
                continue;
            }
        } else {
            report(x, *server, st, st.end == attempt_end::ok ? rp->get().result_int() : 0);
        }
        if (st.end == attempt_end::ok) {
            server_reusable = !st.write_failed;
            break;
        }
        auto retry = consider_retry(c, x, st, budget);
        if (retry.what == retry_decision::kind::none) {
            co_await answer_failure(c, x, u.get(), st);
            co_return;
        }
        u.reset();
        if (!retry.prefer_other_server) continue;
        if (!co_await move_to_another_server(c, x, hold, *server)) co_return;
    }
    if (client_left(c, x)) {
        x.rec.status = 499;
        x.rec.reason = "client_gone";
        c.keep_alive = false;
        co_return;
    }
    ++u->requests;
    server_release release{c, x, hold, *server, server_reusable, u};
    co_await relay_response(c, x, *u, *rp, release);
}

}  // namespace sluice::proxy
