#pragma once
// Sending a request to a `protocol: uwsgi` backend. Internal to the session.

#include "proxy/session/upstream_attempt.hpp"

namespace sluice::proxy {

// The head as one uwsgi packet, then the body (from the store, or streamed unframed).
awaitable<attempt_state> send_uwsgi_request(client_connection& c, exchange& x,
                                            upstream_connection& u);

}  // namespace sluice::proxy
