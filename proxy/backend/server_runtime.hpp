#pragma once
// One server's record in a backend: what the request path, the health events and the status page
// share about it. Records outlive config reloads (backend_runtime.hpp says how).

#include "health/server_state.hpp"
#include "proxy/backend/connection_pool.hpp"

#include <boost/asio/generic/stream_protocol.hpp>

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace sluice::net {
class tls_client_context;
}

namespace sluice::proxy {

// A shared_ptr that a reload replaces while worker threads read it, once per new connection. A
// mutex rather than std::atomic<std::shared_ptr>: GCC 12's releases a read with relaxed order,
// which ThreadSanitizer rightly reports against the next store.
template <class T>
class replaceable {
public:
    std::shared_ptr<T> load() const
    {
        std::lock_guard lock(mutex_);
        return value_;
    }
    void store(std::shared_ptr<T> v)
    {
        std::lock_guard lock(mutex_);
        value_ = std::move(v);
    }

private:
    mutable std::mutex mutex_;
    std::shared_ptr<T> value_;
};

struct server_runtime {
    std::string name;
    std::string address_text;
    boost::asio::generic::stream_protocol::endpoint endpoint;
    std::deque<connection_pool> pools;  // one per event-loop thread, used by that thread only
    // How new connections to it start (a reload may change them; each connection keeps its own).
    replaceable<const net::tls_client_context> tls;
    // Bumped (release) after each reload stores a `tls` (or stops having one); a worker reads it
    // (acquire) before `tls`, so a connection tagged with the new value was opened with the new
    // context (upstream_connection::tls_generation).
    std::atomic<std::uint32_t> tls_generation{0};
    std::atomic<config::proxy_protocol> send_proxy{config::proxy_protocol::off};
    // Guarded by the backend's slot table lock:
    bool retired = false;
    std::optional<health::server_state> state;
    // A lock-free hint for the request path: nonzero while a passive failure streak runs, so a
    // success takes the lock only when it has a streak to reset.
    std::atomic<unsigned> failure_streak{0};
    // Requests the server answered (a response head that is not 502/503/504): the checker's
    // evidence that a saturated server still works (health/busy_timeout.hpp). Relaxed: a count
    // read once per check, ordered with nothing else.
    std::atomic<std::uint64_t> answered{0};
    // Requests that failed on it (what report_result counts as failed), for the status page.
    std::atomic<std::uint64_t> failed{0};
};

}  // namespace sluice::proxy
