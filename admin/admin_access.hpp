#pragma once
// Who may change things through the admin API (SPEC.md "Admin API and status page"), and which
// change a POST names. Pure: the admin listener passes what it read; nothing here does I/O.
//
//   * admin.token_file set: every POST needs "Authorization: Bearer TOKEN" (401 otherwise). The
//     token is compared in constant time, so its bytes cannot be guessed one by one by timing.
//   * no token: POST is allowed only when admin.bind is loopback or a unix socket (403 otherwise):
//     then only processes of this machine can reach it, as with HAProxy's stats socket.
// GET and HEAD stay open: load balancers and Prometheus read /healthz and /metrics without one.

#include "config/model.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace sluice::admin {

// Equal length and bytes, in a time that depends on the lengths only.
bool same_secret(std::string_view a, std::string_view b);

struct access_verdict {
    unsigned status = 0;  // 0: allowed; else 401 or 403
    std::string reason;   // for the answer and the log: what is wrong and how to fix it
};
// `token` "" = no token_file; `bind` the admin address in use (a reload does not move it).
access_verdict authorize_post(const std::string& token, const config::endpoint& bind,
                              std::string_view authorization);

// A POST target: /servers/BACKEND/SERVER/state, /servers/BACKEND/SERVER/weight, /reload
// (a query string is ignored; names are percent-decoded).
struct post_target {
    enum class kind { state, weight, reload } what;
    std::string backend, server;
};
std::optional<post_target> parse_post_target(std::string_view target);

}  // namespace sluice::admin
