#pragma once
// What the admin API has said about one server (SPEC.md "Admin API and status page"), and the
// two request bodies that change it. Pure: parsing and applying, no sockets, no locks.
//
// The API's word holds like the agent's: a `drain` or `maint` stays until the API says `ready`,
// whatever checks and the agent say meanwhile, and it survives reloads for a server that keeps its
// name. A weight set by the API replaces the agent's and the configured one until the API sets
// another; `ready` also lifts a weight of 0 (a drain by weight), so the page's one "ready" button
// puts a drained server back whichever way it was drained.
//
//   state body   = *WSP ( "ready" / "drain" / "maint" ) *WSP       ; case-insensitive
//   weight body  = *WSP 1*DIGIT [ "%" ] *WSP                       ; "N": 0-256, "N%": 0-100000
//                                                                   ; of the configured weight

#include "health/agent_reply.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace sluice::health {

struct api_override {
    agent_admin admin = agent_admin::ready;
    std::optional<agent_weight> weight;  // nullopt: the agent's or the configured weight

    bool operator==(const api_override&) const = default;
    bool empty() const { return admin == agent_admin::ready && !weight; }
};

// One change asked of the API: a state word or a weight.
using api_change = std::variant<agent_admin, agent_weight>;

// The change a body asks for, or why it is refused ("expected ready, drain or maint; got ...").
struct api_parse {
    std::optional<api_change> change;
    std::string error;
};
api_parse parse_state_body(std::string_view body);
api_parse parse_weight_body(std::string_view body);

// `current` with `change` applied (see the header comment for `ready`).
api_override apply(api_override current, const api_change& change);

// "drain", "maint", "50%", "weight 3": how /status and the log name a change or an override.
std::string describe(const api_change& change);
// "" for no override; "drain", "maint 50%", ...
std::string describe(const api_override& o);

}  // namespace sluice::health
