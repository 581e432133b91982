#pragma once
// One coroutine per client connection: read a request head, forward it, relay the response,
// repeat while keep-alive holds. Runs entirely on the worker that owns the socket.

#include "proxy/deadline_sweeper.hpp"

#include <functional>
#include <string>

namespace sluice::proxy {

class worker;

// `on_close` runs when the connection is gone (the listener's connection count).
void start_client_session(worker& w, socket_type socket, std::string listener_name,
                          std::function<void()> on_close);

}  // namespace sluice::proxy
