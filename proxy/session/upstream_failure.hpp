#pragma once
// What the client and the operator see when an attempt at a server fails and is not retried.
// Internal to the session.

#include "proxy/session/upstream_attempt.hpp"

namespace sluice::proxy {

// The answer to a client whose request was not retried after `st`; logs the protocol hints.
awaitable<void> answer_failure(client_connection& c, exchange& x, const upstream_connection* u,
                               const attempt_state& st);
// The answer to a request whose body broke off or broke the rules (413, 400, 408, or none).
awaitable<void> fail_request_body(client_connection& c, exchange& x, const relay_result& r);
// Logs, at most once a minute per thread, that a pooled connection was found closed by its server.
void note_stale_retry(client_connection& c, exchange& x);

}  // namespace sluice::proxy
