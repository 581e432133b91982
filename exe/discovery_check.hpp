#pragma once
// What `sluice check` shows of backends[].discovery (SPEC.md "Servers found by DNS"): each name
// resolved once, as `sluice run` would at start-up, and the servers it found (ADDRESS:PORT and
// weight, after max_servers and SRV priority) or why none (timeout, servfail, nxdomain, empty).
// It asks name servers, so it lives beside main, not in config/: config/ is sluice_core, which
// links no c-ares.
//
// A failure is a warning, not an error: `run` starts without those servers and keeps asking, so
// `check` fails on it only with --strict, as on any warning. --offline asks nothing (a CI job
// that cannot reach the cluster's resolvers).

#include "config/model.hpp"
#include "proxy/backend/membership.hpp"

#include <optional>
#include <string>
#include <vector>

namespace sluice::cli {

struct discovery_result {
    std::string backend;
    std::string asked;      // "dns app.test port 8000", "srv _http._tcp.app.test"
    bool resolved = false;  // false: --offline
    std::vector<proxy::discovered_server> servers;
    std::optional<net::resolve_failure> failure;
    std::size_t over_max_servers = 0;  // addresses found but left out by max_servers
    std::string warning;               // for a failure: where, what `run` does, how to fix
};

// Every backend with discovery, in config order. Unless `offline`, each name is resolved, all at
// once: this blocks for up to the slowest one's timeout (per resolver; twice for SRV).
std::vector<discovery_result> check_discovery(const config::root& cfg, bool offline);

// A "discovery" section for the text output ("" when no backend has discovery).
std::string format_text(const std::vector<discovery_result>& results);
// A JSON array, one object per backend: {backend, asked, resolved, servers, failure, ...}.
std::string format_json(const std::vector<discovery_result>& results);

}  // namespace sluice::cli
