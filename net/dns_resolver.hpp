#pragma once
// One DNS resolution with c-ares: A and AAAA records of a name (each address a server on a given
// port), or SRV records (targets, ports, weights) and then the targets' addresses, asked of given
// name servers (or those of /etc/resolv.conf) with a deadline.
//
// resolve() blocks the thread that calls it for up to `timeout` per resolver (twice that for SRV:
// the SRV records, then their targets), so it runs on the discovery thread, never on an event loop.
// Each call has its own c-ares channel: nothing is shared between calls or threads, and no answer
// is cached (c-ares 1.18 has no cache): every interval asks the name servers again. A resolver
// that does not answer in time is followed by the next one; a SERVFAIL or REFUSED answer is the
// outcome (the next resolution, an interval later, starts again from the first resolver).

#include "config/model.hpp"
#include "net/dns_answer.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace sluice::net {

struct dns_query {
    enum class kind { address, srv };
    kind type = kind::address;
    std::string name;
    std::uint16_t port = 0;                   // address only: the servers' port
    std::vector<config::endpoint> resolvers;  // empty: the nameservers of /etc/resolv.conf
    std::chrono::milliseconds timeout{2000};  // a resolver silent this long: `timeout`
};

// Addresses (sorted, so equal answers compare equal) with the smallest TTL, or a failure.
resolve_answer resolve(const dns_query& query);

// The same for discovery's config block.
dns_query query_for(const config::discovery& d);

}  // namespace sluice::net
