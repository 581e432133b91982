#pragma once
// One backend's DNS discovery as it runs (SPEC.md "Servers found by DNS"): its dns_watch, the
// servers found so far, and the last outcome, for logging once per change. Owned and touched by
// the control thread only (runtime_impl.hpp); the watch's answers are posted there.

#include "config/model.hpp"
#include "proxy/backend/membership.hpp"
#include "proxy/runtime/dns_watch.hpp"

#include <memory>
#include <string>
#include <vector>

namespace sluice::proxy {

struct discovered_backend {
    explicit discovered_backend(const config::discovery& d) : config(d), members(d.max_servers) {}

    config::discovery config;  // what `watch` asks
    membership members;
    std::string last_outcome;  // "" before the first answer, "ok" or a resolve_failure's name
    // The servers changed but no snapshot holds them yet (applying them failed): try again at
    // the next answer.
    bool pending = false;
    unsigned generation = 0;  // answers of an earlier watch are dropped
    std::unique_ptr<dns_watch> watch;
};

// Whether two lists name the same name servers, in the same order (the order they are asked in).
bool same_resolvers(const std::vector<config::endpoint>& a, const std::vector<config::endpoint>& b);
// Whether two discovery blocks ask the same question of the same name servers.
bool same_question(const config::discovery& a, const config::discovery& b);

}  // namespace sluice::proxy
