#pragma once
// What one DNS resolution gave (net/dns_resolver) and what discovery makes of it
// (proxy/backend/membership): addresses with ports and SRV weights, or why it failed. Types only.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::net {

// The `reason` label of sluice_discovery_errors_total: a timeout (no resolver answered in
// time), SERVFAIL (or REFUSED), NXDOMAIN, an answer without addresses, anything else.
enum class resolve_failure { timeout, servfail, nxdomain, empty, other };

constexpr std::string_view to_string(resolve_failure f)
{
    switch (f) {
    case resolve_failure::timeout: return "timeout";
    case resolve_failure::servfail: return "servfail";
    case resolve_failure::nxdomain: return "nxdomain";
    case resolve_failure::empty: return "empty";
    case resolve_failure::other: return "other";
    }
    return "other";
}

// One address of an answer (an IP literal without brackets) and the port to use on it.
struct resolved_address {
    std::string address;
    std::uint16_t port = 0;
    // From the SRV record that named it (an A/AAAA answer leaves both 0: all equal).
    std::uint16_t priority = 0;
    std::uint16_t srv_weight = 0;
    bool operator==(const resolved_address&) const = default;
};

struct resolve_answer {
    std::vector<resolved_address> addresses;
    std::optional<std::chrono::seconds> ttl;  // the smallest TTL of the records used
    std::optional<resolve_failure> failure;

    static resolve_answer failed(resolve_failure f) { return {{}, std::nullopt, f}; }
};

}  // namespace sluice::net
