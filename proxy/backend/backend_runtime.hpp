#pragma once
// A backend's live state, which outlives config reloads: its servers' records (connection pools,
// health states), its slot table and the health of its servers. A reload reconciles it with the
// new config: a server that keeps its name and address keeps its record (slots, in-flight count,
// pools, health); a new one is added; one that left is retired: it takes no new requests, keeps
// its in-flight ones, and its record stays so that their slots come back to the right place.
//
// Locking: the slot table's lock (slot_table.hpp) guards the server list as well, for O(servers)
// on reload. Server records are never removed, so a server index stays valid for as long as the
// backend_runtime lives.

#include "config/model.hpp"
#include "proxy/backend/backend_stats.hpp"
#include "proxy/backend/server_health.hpp"
#include "proxy/backend/server_runtime.hpp"
#include "proxy/backend/slot_table.hpp"

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::proxy {

class backend_runtime {
public:
    backend_runtime(const config::backend& cfg, unsigned threads);

    // Applies a reloaded config of the same backend. Resolves new addresses first (may block on
    // DNS; throws std::runtime_error), then swaps under the lock.
    void reconcile(const config::backend& cfg);

    const std::string& name() const { return name_; }
    server_runtime& server(std::size_t i) { return *servers_[i]; }
    // Indices of the servers of the current config, in config order.
    std::vector<std::size_t> active_servers() const;

    slot_table& slots() { return slots_; }
    const slot_table& slots() const { return slots_; }
    server_health& health() { return health_; }
    const server_health& health() const { return health_; }
    // The health's tick, then a sample of each server's answers and failures for the status page.
    void tick();
    // How many sluice instances share these servers (scale_out.peers): from now on each server
    // takes this sluice's share of its max_connections (edge_share.hpp); requests in flight stay,
    // and a lowered share admits nothing new until the server is under it.
    void set_peers(unsigned peers);

    struct server_report {
        unsigned in_flight, max_connections;
        std::string state, last_check;
        double weight;
        std::string_view set_by;   // "api", "agent" or "check"
        std::string api_override;  // "" = none
        std::optional<double> last_check_age_s;
        backend_stats::server_totals last_minute;  // requests sent and failed
    };
    server_report report(std::size_t server) const;  // takes the lock: admin thread only
    backend_stats& stats() { return stats_; }
    const backend_stats& stats() const { return stats_; }
    // Closes pooled connections of this thread that idled past their time.
    void prune_pools(unsigned thread, clock::duration idle_timeout);
    // A reload dropped this backend: each thread closes its own pooled connections to it
    // (clear_pools), and no connection goes back into a pool after that (retired).
    void retire() { retired_.store(true); }
    bool retired() const { return retired_.load(std::memory_order_relaxed); }
    void clear_pools(unsigned thread);
    // At exit, once the event loops have stopped: every pooled connection, of every thread.
    void close_pools();

private:
    std::size_t add_server(request_queue& queue, const config::server& s,
                           boost::asio::generic::stream_protocol::endpoint e);
    void sample_stats(std::size_t records, clock::time_point now);
    // Every server record with its `retired` flag, copied under the lock for a pool walk.
    std::vector<std::pair<server_runtime*, bool>> records_and_retired() const;

    // Reserved up front and never reallocated, so event loops index it without the lock while a
    // reload appends. Records of departed servers count too (a server found by DNS again under
    // the same address and port gets its old record back); past this, restart.
    static constexpr std::size_t max_server_records = 4096;
    std::string name_;
    unsigned threads_;
    std::vector<std::unique_ptr<server_runtime>> servers_;  // grows only (see above)
    std::vector<std::size_t> active_;
    slot_table slots_;
    server_health health_{name_, slots_, servers_, active_};
    std::atomic<bool> retired_{false};
    backend_stats stats_{clock::now()};
};

}  // namespace sluice::proxy
