#pragma once
// Idle keep-alive connections to one server, owned by one event-loop thread (no lock).
// A connection is checked on the way out (idle too long, or closed by the server meanwhile),
// and `prune` closes the ones past idle_timeout so they do not hold file descriptors.

#include "proxy/backend/upstream_connection.hpp"

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>

namespace sluice::proxy {

// Whether a server's idle connections hold workers that its requests need: true when the slots in
// use and the connections idle in the pools add up to more than its max_connections. So it is for
// a server whose every worker stays with a kept-alive connection (uWSGI's --http11-socket, as the
// sync workers that max_connections counts): an idle connection is a worker taken.
inline bool idle_holds_workers(unsigned in_flight, unsigned max_connections, std::size_t idle)
{
    return max_connections > 0 && in_flight + idle > max_connections;
}

class connection_pool {
public:
    connection_pool() = default;
    // Only before any thread uses it (the pools are made with their server's record).
    connection_pool(connection_pool&& other) noexcept : idle_(std::move(other.idle_)) { count(); }

    // An idle connection that is still usable, or nullptr. A connection used moments ago is
    // taken unchecked (saving a syscall per request) unless `verify` (the caller says whether a
    // request lost to a connection closed in that moment could be retried for free), or its
    // server has been heard from since the response: a FIN, or stray bytes. Only one
    // whose PROXY header named `client` (upstream_connection::proxied_for) and opened under the
    // server's current `tls_generation` is taken.
    std::unique_ptr<upstream_connection> take(clock::duration idle_timeout, bool verify,
                                              std::string_view client = {},
                                              std::uint32_t tls_generation = 0);
    // Keeps `c` for reuse unless the pool already holds max_idle connections.
    void put(std::unique_ptr<upstream_connection> c, std::size_t max_idle);
    void prune(clock::duration idle_timeout);
    void clear()
    {
        idle_.clear();
        count();
    }
    // Closes the connection idle the longest, if any (idle_holds_workers asked for it).
    void drop_oldest();

    // How many it holds, read by any thread (changed by the owner only).
    std::size_t idle_count() const { return size_.load(std::memory_order_relaxed); }

private:
    void count() { size_.store(idle_.size(), std::memory_order_relaxed); }

    std::deque<std::unique_ptr<upstream_connection>> idle_;  // most recently used at the back
    std::atomic<std::size_t> size_{0};
};

}  // namespace sluice::proxy
