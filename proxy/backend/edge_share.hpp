#pragma once
// The edge share (SPEC.md "Several sluice instances"): with N sluice instances in front of the
// same servers, each allows ceil(max_connections / N) in flight per server, so together they
// stay within a server's workers give or take the rounding, and each still gets at least one.

namespace sluice::proxy {

// `max_connections` 0 (no limit) stays 0; `peers` 0 counts as 1 (no peer set known yet).
constexpr unsigned edge_share(unsigned max_connections, unsigned peers)
{
    if (max_connections == 0 || peers <= 1) return max_connections;
    return (max_connections + peers - 1) / peers;
}

}  // namespace sluice::proxy
