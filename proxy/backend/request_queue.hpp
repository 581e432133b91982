#pragma once
// Per-server request slots and one FIFO of waiting requests for a backend.
//
// Pure and not thread-safe: the I/O layer keeps one per backend behind a mutex, holds it only
// for these O(1)/O(servers) calls, and delivers grants to waiters on their own threads.
// A waiter is in exactly one of three states: waiting (in the FIFO), granted (holds a slot on
// one server until release), or gone (cancelled: timeout or client disconnect). A freed slot
// goes to the oldest waiter at once, so FIFO order holds across all threads.

#include "config/model.hpp"
#include "proxy/backend/balancer.hpp"

#include <cstdint>
#include <list>
#include <optional>
#include <unordered_map>
#include <vector>

namespace sluice::proxy {

class request_queue {
public:
    using ticket = std::uint64_t;
    struct grant {
        ticket waiter;
        std::size_t server;
    };
    enum class outcome { granted, queued, rejected_full };
    struct admission {
        outcome result;
        std::size_t server = 0;  // valid when granted
    };

    request_queue(config::balance policy, std::size_t max_length, std::uint64_t seed);

    // Server table. weight 0 = takes no new requests (busy, down, maint) but keeps in-flight ones.
    // add_server grants nothing: when requests wait, follow it with set_server to let them in.
    std::size_t add_server(unsigned max_connections, double weight);
    // Changing capacity or weight may let waiters in: their grants are returned.
    std::vector<grant> set_server(std::size_t server, unsigned max_connections, double weight);
    void set_max_length(std::size_t max_length);
    // A reload may change the balance policy; the new balancer starts fresh.
    void set_policy(config::balance policy, std::uint64_t seed)
    {
        balancer_ = balancer(policy, seed);
    }

    // A slot now, else a place at the back of the FIFO, else rejected (queue full).
    // A backend with no server that can take requests queues too (they wait for one to come up).
    admission admit(ticket id);
    // Frees one slot of `server`; hands freed capacity to the oldest waiters.
    std::vector<grant> release(std::size_t server);
    // Takes a waiter out of the FIFO. False when it is not waiting (already granted or gone).
    bool cancel(ticket id);

    std::size_t queue_length() const { return fifo_.size(); }
    std::size_t max_length() const { return max_length_; }
    std::size_t server_count() const { return servers_.size(); }
    const server_load& server(std::size_t i) const { return servers_[i]; }
    unsigned total_in_flight() const;
    // Slots that could be granted right now (no limit counts as one).
    std::size_t free_slots() const;

private:
    std::vector<grant> grant_waiting();

    balancer balancer_;
    std::size_t max_length_;
    std::vector<server_load> servers_;
    std::list<ticket> fifo_;
    std::unordered_map<ticket, std::list<ticket>::iterator> waiting_;
};

}  // namespace sluice::proxy
