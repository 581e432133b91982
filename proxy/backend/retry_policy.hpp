#pragma once
// Whether a failed attempt at a server may be tried again (SPEC.md "Retries"). Pure: the caller
// says how the attempt ended and what had been sent; the answer is a decision, never I/O.
//
// A retry is safe only when nothing of the request can have been acted on by the app:
// * the connection could not be made (connect failure or connect timeout): any method;
// * the connection closed before any response byte (an empty response): a *reused* pooled
//   connection is the keep-alive race (the server closed it while it idled), so the request gets
//   one free retry on a new connection to the same server whatever its method; on a new
//   connection the app may have read the request before dying, so only idempotent methods are
//   retried, and those count against `retries.attempts`;
// * never once a byte of the request body has been read from the client: the body was streamed
//   and cannot be replayed, and a POST whose body reached the app must never run twice.
// Timeouts are never retried: the app has the request and may still be working on it.

#include "config/model.hpp"

#include <string_view>

namespace sluice::proxy {

struct attempt_failure {
    enum class kind { connect_failure, empty_response } what;
    bool reused_connection = false;  // the connection came from the keep-alive pool
    bool body_sent = false;          // request body bytes were read from the client
    bool idempotent = false;         // the request's method (RFC 9110 9.2.2)
};

// What the request has used so far.
struct retry_budget {
    unsigned counted = 0;     // retries counted against retries.attempts
    bool free_used = false;   // the one free retry of a stale pooled connection
};

struct retry_decision {
    enum class kind { none, free_stale, counted } what = kind::none;
    // The label of sluice_retries_total: "stale_connection", "connect_failure", "empty_response".
    std::string_view reason;
    // Whether the retry should go to another server when one exists: a stale connection says
    // nothing about the server, a connect failure or an empty answer does.
    bool prefer_other_server = false;
};

// Decides, and when it says retry, records the retry in `budget`.
retry_decision decide_retry(const attempt_failure& failure, const config::retries& policy,
                            retry_budget& budget);

}  // namespace sluice::proxy
