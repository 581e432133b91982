#include "proxy/backend/request_queue.hpp"

#include <cassert>

// Invariant kept by every public call: a request waits only while no server has a free slot
// (or, right after add_server, until the next release or set_server hands the new capacity
// over). So a new request is granted directly only when nobody is waiting, and whoever frees
// capacity drains the FIFO from its front: a later request never overtakes an earlier one.

namespace sluice::proxy {

request_queue::request_queue(config::balance policy, std::size_t max_length, std::uint64_t seed)
    : balancer_(policy, seed), max_length_(max_length)
{
}

std::size_t request_queue::add_server(unsigned max_connections, double weight)
{
    servers_.push_back({.in_flight = 0, .max_connections = max_connections, .weight = weight});
    return servers_.size() - 1;
}

std::vector<request_queue::grant> request_queue::set_server(std::size_t server,
                                                            unsigned max_connections, double weight)
{
    assert(server < servers_.size());
    // Lowering max_connections below in_flight keeps those requests: they finish, and the server
    // takes no new one until it is under the new limit.
    servers_[server].max_connections = max_connections;
    servers_[server].weight = weight;
    return grant_waiting();
}

void request_queue::set_max_length(std::size_t max_length) { max_length_ = max_length; }

request_queue::admission request_queue::admit(ticket id)
{
    assert(!waiting_.contains(id) && "a ticket is admitted once");
    if (fifo_.empty()) {
        if (const auto chosen = balancer_.pick(servers_)) {
            ++servers_[*chosen].in_flight;
            return {outcome::granted, *chosen};
        }
    }
    if (fifo_.size() >= max_length_) return {outcome::rejected_full};
    waiting_.emplace(id, fifo_.insert(fifo_.end(), id));
    return {outcome::queued};
}

std::vector<request_queue::grant> request_queue::release(std::size_t server)
{
    assert(server < servers_.size());
    assert(servers_[server].in_flight > 0 && "release only a slot that admit or a grant gave");
    --servers_[server].in_flight;
    return grant_waiting();
}

bool request_queue::cancel(ticket id)
{
    const auto it = waiting_.find(id);
    if (it == waiting_.end()) return false;
    fifo_.erase(it->second);
    waiting_.erase(it);
    return true;
}

unsigned request_queue::total_in_flight() const
{
    unsigned total = 0;
    for (const auto& s : servers_) total += s.in_flight;
    return total;
}

std::size_t request_queue::free_slots() const
{
    std::size_t free = 0;
    for (const auto& s : servers_) {
        if (s.weight <= 0) continue;
        if (s.max_connections == 0) {
            ++free;
        } else if (s.in_flight < s.max_connections) {
            free += s.max_connections - s.in_flight;
        }
    }
    return free;
}

// The balancer chooses the server for each waiter, oldest first; usually it is the one that
// just freed a slot, but weights and other free servers are respected.
std::vector<request_queue::grant> request_queue::grant_waiting()
{
    std::vector<grant> grants;
    while (!fifo_.empty()) {
        const auto chosen = balancer_.pick(servers_);
        if (!chosen) break;
        ++servers_[*chosen].in_flight;
        const ticket oldest = fifo_.front();
        waiting_.erase(oldest);
        fifo_.pop_front();
        grants.push_back({oldest, *chosen});
    }
    return grants;
}

}  // namespace sluice::proxy
