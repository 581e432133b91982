#pragma once
// Request buffering (SPEC.md "Buffering: slow clients never hold a worker"): a request body is
// read whole, into memory and then an unlinked spool file, before the request asks for a slot,
// so a slow upload costs the proxy a little memory or disk instead of costing the app a worker.
// Internal to the session.

#include "proxy/session/session.hpp"

namespace sluice::proxy {

// Whether x's body is read whole before it asks for a slot: with buffering.request on, or for a
// uwsgi backend, which needs a chunked body's length before the body. A body that came whole
// with its head goes through as it is, without a copy or a file.
bool body_goes_first(const client_connection& c, const exchange& x);

// Reads the body into x.body (a chunked one then travels with its Content-Length); false when a
// local reply ended the request.
awaitable<bool> buffer_request_body(client_connection& c, exchange& x);

}  // namespace sluice::proxy
