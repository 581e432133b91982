#pragma once
// A backend as it runs with discovery: the servers its file lists, then those its DNS answer
// named (membership.hpp), each made from server_defaults. Pure: the runtime builds every
// snapshot's backend with it, so the request path, the checks and /status see one server list.

#include "config/model.hpp"
#include "proxy/backend/membership.hpp"

#include <vector>

namespace sluice::proxy {

// The file's servers of `b` (any discovered ones it holds are dropped) followed by `found`. A
// found server named like a listed one is left out: the file's settings win, and one name is one
// server in /status and the admin API. An A/AAAA answer's servers take server_defaults' weight;
// an SRV answer's, the weight its records gave.
std::vector<config::server> with_discovered(const config::backend& b,
                                            const std::vector<discovered_server>& found);

}  // namespace sluice::proxy
