#pragma once
// Internal to forward() (forward.cpp): one attempt at one server, in steps (connect,
// send the request, receive the response head), each returning how it ended instead of answering
// the client, so that forward() can decide between steps whether a failure may be retried.

#include "proxy/backend/upstream_connection.hpp"
#include "proxy/session/session.hpp"

namespace sluice::proxy {

struct relay_result;

enum class attempt_end {
    ok,
    client_failed,    // the client's body broke off or broke the rules: already answered
    connect_failed,   // refused or unreachable: nothing reached the server
    connect_timeout,  // timeouts.connect passed
    tls_failed,       // the TLS handshake with the server failed: nothing reached the app
    empty_response,   // closed or reset before any byte of a response
    reset,            // closed or reset after part of the request body or the response
    server_timeout,   // timeouts.server passed between bytes
    request_timeout,  // the request's deadline passed first
    not_http,         // what came back is not an HTTP response
};

// The key a server's pooled connections carry when it takes PROXY headers: the client's address.
std::string_view proxied_client_key(const client_connection& c);

struct attempt_state {
    attempt_end end = attempt_end::ok;
    error_code ec;
    bool reused = false;     // the connection came from the keep-alive pool
    bool body_sent = false;  // request body bytes were streamed from the client and sent on
    // From the request written to a failed read of the response head: the keep-alive race is
    // quick, a worker killed by its app server's timeout is not. Zero when the write failed.
    clock::duration waited{};
    // The server stopped reading the request (a failed write, not a timeout): it may have
    // answered early, as an app that refuses a body does, and closed.
    bool write_failed = false;
    // The server has answered requests in HTTP since sluice started: a close at once from it is
    // a crashed worker, not the uWSGI socket that an HTTP backend's address may point at.
    bool answered_before = false;
};

// The earlier of now + `timeout` and the request's deadline, and which of the two it is, so that
// an expiry can be told apart: server_timeout or request_timeout.
struct op_limit {
    clock::time_point at;
    bool is_request_deadline;
};
op_limit limit_for(const exchange& x, clock::duration timeout);

// Time spent receiving the client's body (the relay that began at `began`) does not count
// against the request deadline: bytes are moving, so nobody in front of the proxy is waiting on
// it yet, and a slow upload must not end in a 504 the moment its last byte arrives. `began` is
// read with coarse_now(), as deadlines are.
void pause_deadline_for_body(exchange& x, clock::time_point began, const relay_result& r);

// Before a new connection to `server`: when connections idle in other threads' pools hold
// workers this request needs (idle_holds_workers), one of those threads is asked to close its
// longest idle one, so the worker it held takes the new connection. Best effort: that thread may
// have reused it meanwhile.
void free_idle_elsewhere(client_connection& c, exchange& x, std::size_t server);

awaitable<attempt_state> connect_to(client_connection& c, exchange& x, server_runtime& s,
                                    std::unique_ptr<upstream_connection>& u);
awaitable<attempt_state> send_http_request(client_connection& c, exchange& x,
                                           upstream_connection& u);
awaitable<attempt_state> receive_head(client_connection& c, exchange& x, upstream_connection& u,
                                      std::optional<response_parser>& rp);

// Sends "100 Continue" when the client waits for it before sending its body.
awaitable<void> send_continue(client_connection& c, exchange& x);
inline bool continue_due(const exchange& x) { return x.expect_continue && !x.parser->is_done(); }
bool is_protocol_error(const error_code& ec);

}  // namespace sluice::proxy
