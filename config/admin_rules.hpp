#pragma once
// The config's part in keeping the admin API closed to the network (SPEC.md "Admin API and status
// page"): the token file is read with the config (so a reload re-reads it and `check` finds an
// unreadable one), and `sluice check` refuses an admin.bind reachable from other machines without
// a token. `run` starts with such a config (GET endpoints serve load balancers and Prometheus)
// but refuses every POST with 403.

#include "config/model.hpp"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sluice::config {

// 127.0.0.0/8, ::1, "localhost", or a unix socket: reachable from this machine only.
bool local_only(const endpoint& bind);

// Fills cfg.admin.token from admin.token_file (relative to the config file's directory), without
// surrounding white space; an unreadable or empty file is an error at the key's mark.
void read_admin_token(root& cfg, const std::map<std::string, source_mark, std::less<>>& marks,
                      std::vector<std::string>& errors);

// "FILE:LINE:COL: admin.bind: ... reachable from other machines ...; set admin.token_file or
// ..." when admin.bind is not local and there is no token; nullopt otherwise.
std::optional<std::string> admin_exposure(const root& cfg);

}  // namespace sluice::config
