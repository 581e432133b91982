#pragma once
// Idle keep-alive connections to one server, owned by one event-loop thread (no lock).
// A connection is checked on the way out (idle too long, or closed by the server meanwhile),
// and `prune` closes the ones past idle_timeout so they do not hold file descriptors.

#include "proxy/backend/upstream_connection.hpp"

#include <deque>
#include <memory>

namespace sluice::proxy {

class connection_pool {
public:
    // An idle connection that is still usable, or nullptr. A connection used moments ago is
    // taken unchecked (saving a syscall per request) unless `verify`: the caller says whether a
    // request lost to a connection closed in that moment could be retried for free. Only one
    // whose PROXY header named `client` (upstream_connection::proxied_for) and opened under the
    // server's current `tls_generation` is taken.
    std::unique_ptr<upstream_connection> take(clock::duration idle_timeout, bool verify,
                                              std::string_view client = {},
                                              std::uint32_t tls_generation = 0);
    // Keeps `c` for reuse unless the pool already holds max_idle connections.
    void put(std::unique_ptr<upstream_connection> c, std::size_t max_idle);
    void prune(clock::duration idle_timeout);
    void clear() { idle_.clear(); }

private:
    std::deque<std::unique_ptr<upstream_connection>> idle_;  // most recently used at the back
};

}  // namespace sluice::proxy
