#pragma once
// Which servers a backend's DNS discovery has found (SPEC.md "Servers found by DNS"). Pure: the
// caller resolves the name and hands the answer over; this says which servers to add, which to
// retire and which stay, and when to ask again. No sockets, no clocks, no locks.
//
// * A server is an address and port, named ADDRESS:PORT ("[ADDRESS]:PORT" for IPv6), which is
//   also its name in /status and the admin API.
// * A failed resolution (timeout, SERVFAIL, NXDOMAIN, or an answer with no address) changes
//   nothing: a name server that is briefly unreachable must not empty the backend.
// * At most `max_servers`: servers already known keep their place, so a cap never makes servers
//   come and go from one answer to the next.
// * SRV answers: only the targets of the lowest priority are used (RFC 2782: higher ones are for
//   when those fail, and sluice's own health checks cover that); weights 0-65535 are scaled to
//   sluice's 1-256 in proportion (a weight of 0 still gets the smallest share, as RFC 2782 asks).

#include "net/dns_answer.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::proxy {

using net::resolve_answer;
using net::resolve_failure;
using net::resolved_address;

// "10.0.0.1:8000", "[fd00::1]:8000".
std::string server_name(std::string_view address, std::uint16_t port);

struct discovered_server {
    std::string name;  // ADDRESS:PORT
    std::string address;
    std::uint16_t port = 0;
    unsigned weight = 1;  // 1-256
    bool operator==(const discovered_server&) const = default;
};

struct membership_change {
    std::vector<discovered_server> added;
    std::vector<discovered_server> retired;
    std::vector<discovered_server> unchanged;  // same name (its weight may have changed)
    // Set when the answer was a failure: nothing else changed.
    std::optional<resolve_failure> failure;
    std::size_t over_max_servers = 0;  // addresses of the answer left out by the cap
    bool changed() const;              // any server added, retired or reweighted
    bool reweighted = false;
};

class membership {
public:
    explicit membership(std::size_t max_servers) : max_servers_(max_servers) {}

    // Applies an answer and says what changed.
    membership_change apply(const resolve_answer& answer);
    // The servers found, in the order they were first found.
    const std::vector<discovered_server>& servers() const { return servers_; }
    void set_max_servers(std::size_t max) { max_servers_ = max; }

private:
    std::size_t max_servers_;
    std::vector<discovered_server> servers_;
};

// When to resolve again: the interval, sooner when the records' TTL is shorter, never under 1 s
// (a TTL of 0 must not turn into a query loop).
std::chrono::milliseconds next_delay(std::chrono::milliseconds interval,
                                     std::optional<std::chrono::seconds> ttl);

}  // namespace sluice::proxy
