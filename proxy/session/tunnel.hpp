#pragma once
// Upgraded connections (WebSocket). Internal to the session.

#include "proxy/session/session.hpp"

namespace sluice::proxy {

class upstream_connection;

// Copies bytes both ways until one side closes or nothing moves for `idle`.
awaitable<void> tunnel(client_connection& c, upstream_connection& u, exchange& x,
                       clock::duration idle);

}  // namespace sluice::proxy
