#pragma once
// roundrobin / leastconn / random2 over a backend's servers, with weights. Pure: the caller
// passes each server's current load; the balancer proposes one that can take a request now.

#include "config/model.hpp"

#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <vector>

namespace sluice::proxy {

struct server_load {
    unsigned in_flight = 0;
    unsigned max_connections = 0;  // 0 = no limit
    double weight = 1.0;           // effective weight; 0 = takes no new requests (busy/down/maint)

    bool has_free_slot() const
    {
        return weight > 0 && (max_connections == 0 || in_flight < max_connections);
    }
};

class balancer {
public:
    balancer(config::balance policy, std::uint64_t seed);

    // A server with a free slot, or nullopt when none has one.
    // roundrobin: smooth weighted round robin (as NGINX), skipping full servers.
    // leastconn: lowest (in_flight + 1) / weight, ties broken round-robin.
    // random2: two weighted random candidates with free slots, the less loaded one wins.
    std::optional<std::size_t> pick(std::span<const server_load> servers);

private:
    std::optional<std::size_t> pick_roundrobin(std::span<const server_load> servers);
    std::optional<std::size_t> pick_leastconn(std::span<const server_load> servers);
    std::optional<std::size_t> pick_random2(std::span<const server_load> servers);
    std::size_t weighted_draw(std::span<const server_load> servers, double total);

    config::balance policy_;
    std::mt19937_64 rng_;
    std::vector<double> current_;  // smooth round-robin state, one per server
    std::size_t next_ = 0;         // tie-break cursor for leastconn
};

}  // namespace sluice::proxy
