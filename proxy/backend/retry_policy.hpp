#pragma once
// Whether a failed attempt at a server may be tried again (SPEC.md "Retries"). Pure: the caller
// says how the attempt ended and what had been sent; the answer is a decision, never I/O.
//
// A request is sent again only when the app cannot have started it (SPEC.md "Never a second run"):
// * the connection could not be made (connect failure or connect timeout): any method;
// * a *reused* pooled connection failed while the request was written, or closed with no
//   response byte at once: the keep-alive race (the server closed it while it idled, before it
//   read the request). The first time is a free retry on a new connection to the same server,
//   whatever the method; after that, `empty_response` retries count against `retries.attempts`,
//   idempotent methods only;
// * never once a byte of the request body was streamed from the client (it cannot be replayed).
// An empty answer on a new connection, or one that took longer than the race can, is the app's:
// a worker killed by its own timeout (gunicorn --timeout, uWSGI harakiri) or crashed after it
// read the request. Sending it again would run it twice, so it ends in 502. Timeouts are never
// retried: the app has the request and may still be working on it.

#include "config/model.hpp"

#include <chrono>

#include <string_view>

namespace sluice::proxy {

// How soon after the request was written a close still counts as the keep-alive race: the
// server's FIN was already on its way, so it arrives within a round trip and an event-loop turn.
// A worker that read the request and died takes longer than this (or harakiri's seconds).
inline constexpr std::chrono::milliseconds keepalive_race_window{100};

struct attempt_failure {
    enum class kind { connect_failure, empty_response } what;
    bool reused_connection = false;  // the connection came from the keep-alive pool
    bool body_sent = false;          // request body bytes were streamed from the client
    bool idempotent = false;         // the request's method (RFC 9110 9.2.2)
    // From the request's last byte written to the close; zero when the write itself failed.
    std::chrono::steady_clock::duration waited{};
};

// What the request has used so far.
struct retry_budget {
    unsigned counted = 0;        // retries counted against retries.attempts
    bool free_used = false;      // the one free retry of a stale pooled connection
    unsigned not_processed = 0;  // retries of 503s another sluice marked not processed
};

struct retry_decision {
    enum class kind { none, free_stale, counted } what = kind::none;
    // The label of sluice_retries_total: "stale_connection", "connect_failure", "empty_response".
    std::string_view reason;
    // Whether the retry should go to another server when one exists: a stale connection says
    // nothing about the server, a connect failure or an empty answer does.
    bool prefer_other_server = false;
};

// RFC 9110 9.2.2: GET, HEAD, OPTIONS, TRACE, PUT and DELETE. Method names are case-sensitive
// (RFC 9110 9.1), so "get" is not GET (Beast's parser sees it so too).
bool is_idempotent(std::string_view method);

// Whether a connection that carried the whole request and closed without an answer `waited`
// after it was written was most likely closed by the app server killing its worker at its own
// request timeout (gunicorn --timeout, uWSGI harakiri): at about `worker_timeout`, or a little
// after (gunicorn's arbiter looks once a second).
bool worker_killed(std::chrono::steady_clock::duration waited,
                   std::chrono::milliseconds worker_timeout);

// Whether a 503 that the server (another sluice) marked not processed is sent to another server:
// nothing of it reached an app, so whatever its method, unless its body was streamed (and is
// gone). Once per other server, so a tier that refuses everywhere ends in that 503, not a loop.
// Records the retry in `budget`; never counted against retries.attempts.
bool retry_not_processed(bool body_streamed, std::size_t servers, retry_budget& budget);

// Decides, and when it says retry, records the retry in `budget`.
retry_decision decide_retry(const attempt_failure& failure, const config::retries& policy,
                            retry_budget& budget);

}  // namespace sluice::proxy
