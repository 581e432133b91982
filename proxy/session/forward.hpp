#pragma once
// One request's trip to a backend server and back. Internal to the session.

#include "proxy/session/session.hpp"

namespace sluice::proxy {

// Everything between a parsed request head and the end of its response: the body first when it
// is buffered, a slot, a backend connection, the request out, the response back.
awaitable<void> forward(client_connection& c, exchange& x);

}  // namespace sluice::proxy
