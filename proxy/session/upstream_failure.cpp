// What the client and the operator see when an attempt at a server fails and is not retried: the
// status and access-log reason (SPEC.md "Nothing is lost silently"), and for the failures a
// misconfiguration explains, a log line that says what was seen and what to change.
#include "proxy/session/upstream_failure.hpp"

#include "proxy/backend/retry_policy.hpp"
#include "proxy/log/event_log.hpp"
#include "proxy/session/body_relay.hpp"
#include "proxy/session/local_reply.hpp"

namespace sluice::proxy {

namespace {

// What the bytes a server sent look like, for the protocol-mismatch log line.
std::string describe_bytes(const beast::flat_buffer& b)
{
    std::string_view data(static_cast<const char*>(b.data().data()),
                          std::min<std::size_t>(b.size(), 24));
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

// A misconfigured backend fails every request: one line a second per thread says it, the access
// log has every request.
void log_protocol_hint(std::string message)
{
    thread_local clock::time_point last{};
    const auto now = clock::now();
    if (now - last < std::chrono::seconds(1)) return;
    last = now;
    log_event(severity::warning, message);
}

std::string server_text(const exchange& x)
{
    const bool uwsgi = x.backend_config->protocol == config::protocol::uwsgi;
    return "backend " + x.backend_config->name + " server " + std::string(x.rec.server) +
           " (protocol: " + (uwsgi ? "uwsgi" : "http") + ")";
}

// The hint for a server that answered `seen`: which protocol to try instead.
void log_mismatch(const exchange& x, const std::string& seen)
{
    const bool uwsgi = x.backend_config->protocol == config::protocol::uwsgi;
    log_protocol_hint(server_text(x) + " " + seen +
                      (uwsgi ? "; uWSGI answers a uwsgi packet with an HTTP response: check that "
                               "the address is uWSGI's `socket` (or `uwsgi-socket`), and if the "
                               "server speaks HTTP, set `protocol: http`"
                             : "; if it is a uWSGI socket (`socket` / `uwsgi-socket`), set "
                               "`protocol: uwsgi` on the backend"));
}

// What the client gets, and the access log's reason.
struct failure_answer {
    http::status status;
    std::string_view reason, message;
    bool with_error = false;  // the message goes on with the error's own words
};

// A uWSGI socket reads an HTTP request as a bad packet and closes at once, without a byte.
bool closed_at_once(const attempt_state& st)
{
    return !st.reused && st.waited < keepalive_race_window;
}

// On an HTTP backend whose server has never answered, that is most likely a uWSGI socket (a
// crash that quick is rare); one that has answered in HTTP reset the request (a worker that
// crashed on it). An HTTP server would answer a uwsgi packet with a 400, so on a uwsgi backend
// it is a reset.
failure_answer closed_at_once_answer(const exchange& x, const attempt_state& st)
{
    if (x.backend_config->protocol == config::protocol::uwsgi || st.answered_before)
        return {http::status::bad_gateway, "server_reset",
                "the server closed the connection at once without answering"};
    return {http::status::bad_gateway, "protocol_mismatch",
            "the server closed the connection at once without answering: if it is a uWSGI "
            "socket, set protocol: uwsgi on the backend"};
}

// The app server's own request timeout for the server of this attempt; undeclared, gunicorn's
// default --timeout.
std::chrono::milliseconds worker_timeout_of(const exchange& x)
{
    for (const auto& s : x.backend_config->servers)
        if (s.name == x.rec.server) return s.worker_timeout.value_or(std::chrono::seconds(30));
    return std::chrono::seconds(30);
}

// A close with no answer after the whole request went out: the app server's doing.
bool killed_by_app_server(const exchange& x, const attempt_state& st)
{
    if (st.end != attempt_end::empty_response && st.end != attempt_end::reset) return false;
    if (!worker_killed(st.waited, worker_timeout_of(x))) return false;
    log_protocol_hint(
        server_text(x) + " closed the connection without an answer " +
        std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(st.waited).count()) +
        " ms after the request, at about its worker_timeout: the app server killed "
        "its worker (gunicorn --timeout, uWSGI harakiri). The request was not sent "
        "again: the app had started it. Make the app faster, or raise the app "
        "server's timeout and worker_timeout together");
    return true;
}

// A connection that closed without a (whole) answer: a worker the app server killed, a uWSGI
// socket that refused the request at once, or a plain reset.
failure_answer closed_answer(const exchange& x, const attempt_state& st)
{
    using s = http::status;
    if (killed_by_app_server(x, st))
        return {s::bad_gateway, "worker_killed",
                "the app server killed its worker at its own request timeout"};
    if (st.end == attempt_end::reset)
        return {s::bad_gateway, "server_reset", "the server closed the connection", true};
    if (!closed_at_once(st))
        return {s::bad_gateway, "server_reset",
                "the server closed the connection without answering"};
    if (!st.answered_before) log_mismatch(x, "closed the connection at once without answering");
    return closed_at_once_answer(x, st);
}

}  // namespace

awaitable<void> answer_failure(client_connection& c, exchange& x, const upstream_connection* u,
                               const attempt_state& st)
{
    using s = http::status;
    failure_answer a;
    switch (st.end) {
    case attempt_end::ok:
    case attempt_end::client_failed: co_return;
    case attempt_end::connect_failed:
        a = {s::bad_gateway, "connect_failure", "cannot connect to the server", true};
        break;
    case attempt_end::tls_failed: {
        // Named, not a temporary in the co_await (GCC 12, see read_head).
        const auto message = "TLS to the server failed: " + u->tls_detail;
        co_await send_local_reply(c, x, s::bad_gateway, u->tls_failure, message);
        co_return;
    }
    case attempt_end::connect_timeout:
        a = {s::gateway_timeout, "connect_timeout",
             "no connection to the server within timeouts.connect"};
        break;
    case attempt_end::empty_response:
    case attempt_end::reset: a = closed_answer(x, st); break;
    case attempt_end::server_timeout:
        a = {s::gateway_timeout, "server_timeout",
             "the server did not answer within timeouts.server"};
        break;
    case attempt_end::request_timeout:
        a = {s::gateway_timeout, "request_timeout",
             "no answer from the server within the request's deadline (timeouts.request, or the "
             "client's deadline header)"};
        break;
    case attempt_end::not_http:
        log_mismatch(x, "answered " + (u ? describe_bytes(u->buffer) : "nothing") +
                            ", which is not an HTTP response");
        a = {s::bad_gateway, "protocol_mismatch", "the server did not answer in HTTP"};
        break;
    }
    const auto message = std::string(a.message) + (a.with_error ? ": " + st.ec.message() : "");
    co_await send_local_reply(c, x, a.status, a.reason, message);
}

awaitable<void> fail_request_body(client_connection& c, exchange& x, const relay_result& r)
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

void note_stale_retry(client_connection& c, exchange& x)
{
    const auto& b = *x.backend_config;
    const auto now = clock::now();
    if (now - c.w.last_stale_warning < std::chrono::minutes(1)) return;
    c.w.last_stale_warning = now;
    log_event(severity::warning,
              "backend " + b.name + " server " + std::string(x.rec.server) +
                  " closed a pooled keep-alive connection before it was reused; the request was "
                  "retried on a new one. A steady rate of this means the pool outlives the "
                  "server's keep-alive: set keepalive.idle_timeout below the server's "
                  "keepalive_timeout (or declare keepalive_timeout)");
}

}  // namespace sluice::proxy
