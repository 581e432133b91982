#pragma once
// What the admin endpoints report about the running proxy, read on the admin thread:
// the gauges of /metrics and the JSON of /status.

#include "health/metrics.hpp"
#include "proxy/runtime/snapshot.hpp"

#include <string>
#include <vector>

namespace sluice::proxy {

class listener;

struct status_inputs {
    const snapshot& snap;
    const std::vector<std::unique_ptr<listener>>& listeners;
    bool busy;
    bool draining;
    // Whether the page may offer the admin API's buttons: "open" (local bind, no token), "token"
    // (ask for it), or "refused" (403: reachable from other machines without a token).
    std::string_view admin_post = "open";
    unsigned peers = 1;  // sluice instances sharing the servers (scale_out.peers)
};

health::gauge_snapshot collect_gauges(const status_inputs& in);
std::string status_json(const status_inputs& in);
// One server's object of /status (also the admin API's answer): `position` in b.config->servers.
std::string server_json(const backend_view& b, std::size_t position, std::size_t record);

// /readyz: config loaded and every backend has a server that can take requests.
std::pair<bool, std::string> readiness(const snapshot& snap);

}  // namespace sluice::proxy
