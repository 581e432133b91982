#pragma once
// Responses the proxy writes itself. Internal to the session.

#include "proxy/session/session.hpp"

namespace sluice::proxy {

// A response the proxy writes itself (400, 408, 413, 431, 500, 502, 503, 504), with a short body
// naming the reason; also finishes the access record.
awaitable<void> send_local_reply(client_connection& c, exchange& x, http::status status,
                                 std::string_view reason, std::string_view message);

}  // namespace sluice::proxy
