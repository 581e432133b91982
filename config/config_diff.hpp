#pragma once
// What a reload changes, in an operator's words, for POST /reload's answer and the log:
// "backend app: server app3 added", "timeouts.queue: 10s -> 5s". Pure: two models in, lines out.
// Only what an operator acts on is compared (listeners, backends, servers, timeouts, the admin
// token); anything else that differs shows as one line per object ("backend app: other settings").
// A TLS listener always gets a line: its certificate files are re-read at every reload.

#include "config/model.hpp"

#include <string>
#include <vector>

namespace sluice::config {

// Empty when nothing differs.
std::vector<std::string> describe_changes(const root& before, const root& after);

}  // namespace sluice::config
