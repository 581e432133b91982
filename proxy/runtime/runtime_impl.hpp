#pragma once
// Internal to runtime.cpp and lifecycle.cpp: the running proxy's parts.
//
// Threads: the control thread (run()'s caller) owns `current`, `listeners`, signals, reloads and
// the drain; each worker thread owns its connections and its copy of the snapshot (replaced by a
// posted reload); the admin thread reads `current` and `listeners` for /status and /metrics under
// `state_mutex`, which only a reload's swap takes otherwise. /healthz reads one atomic.

#include "admin/admin_access.hpp"
#include "admin/admin_server.hpp"
#include "health/checker.hpp"
#include "health/metrics.hpp"
#include "net/signal_reader.hpp"
#include "net/thread_signals.hpp"
#include "proxy/runtime/discovery.hpp"
#include "proxy/runtime/listener.hpp"
#include "proxy/runtime/peer_watch.hpp"
#include "proxy/runtime/proxy_status.hpp"
#include "proxy/runtime/runtime.hpp"
#include "proxy/runtime/runtime_monitor.hpp"
#include "proxy/runtime/worker.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <map>
#include <mutex>
#include <optional>
#include <thread>

namespace sluice::proxy {

namespace asio = boost::asio;

// What a reload did: `changes` when applied, else the `errors` that refused it (file:line:col).
struct reload_result {
    bool ok = false;
    std::vector<std::string> changes, errors;
};

struct runtime::impl {
    impl(config::root cfg, std::string path);
    void start_threads();
    void stop();
    bool raw_busy() const;
    admin::admin_sources admin_sources();
    std::uint64_t open_connections() const;
    void publish_snapshot(std::shared_ptr<const snapshot> next);
    void schedule_pool_pruning();
    void schedule_health_ticks();
    std::vector<health::check_target> check_targets(const snapshot& snap);
    void report_to(health::check_target& t, std::shared_ptr<backend_runtime> rt, std::size_t index);

    // lifecycle.cpp
    void on_signal(int sig);
    reload_result reload(const std::string& asked_by);
    std::vector<std::string> chain_refusal(const config::root& cfg) const;
    struct listener_plan {
        std::optional<std::size_t> keep;  // index into `listeners`
        std::unique_ptr<listener> bound;  // or a newly bound one
    };
    std::vector<listener_plan> plan_listeners(const config::root& cfg);
    void apply_listeners(std::vector<listener_plan> plan, const config::root& cfg);
    void begin_drain();
    // admin_api.cpp: the admin API's POSTs, from the admin thread.
    void on_admin_post(admin::admin_request req, std::function<void(admin::admin_reply)> done);
    admin::admin_reply on_server_change(const admin::admin_request& req,
                                        const admin::post_target& target);
    void warn_admin_exposure(const config::root& cfg) const;
    void stop_accepting();
    // scale_out.cpp: the edge share's N, from the peer watch, applied to every backend.
    void watch_peers(const config::root& cfg);
    void apply_peers(unsigned n);
    void wait_for_connections(clock::time_point deadline);
    // discovery.cpp: backends' servers found by DNS, applied as a new snapshot.
    void watch_discovery(const config::root& cfg);
    void add_discovered(config::root& cfg) const;
    void on_discovery_answer(const std::string& backend, unsigned generation,
                             const net::resolve_answer& answer);
    bool apply_discovered(const std::string& backend);

    std::string config_path;
    unsigned thread_count;
    asio::io_context control{1};
    health::metrics metrics;
    std::unique_ptr<access_log> log;
    std::vector<std::unique_ptr<worker>> workers;
    mutable std::mutex state_mutex;
    std::shared_ptr<const snapshot> current;
    std::vector<std::unique_ptr<listener>> listeners;  // parallel to current->config.listeners
    std::unique_ptr<runtime_monitor> monitor;
    std::unique_ptr<admin::admin_server> admin;
    health::checker checker;
    health::metrics_shard& check_metrics = metrics.add_shard();
    std::vector<std::thread> threads;
    std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
    net::signal_reader signals{control, net::stop_signals};
    asio::steady_timer drain_timer{control};
    asio::steady_timer prune_timer{control};
    asio::steady_timer health_timer{control};
    bool draining = false;
    bool refused_waiting = false;
    bool allow_chain_errors = false;      // run --allow-chain-errors: reloads accept them too
    config::endpoint admin_bind;          // in use: a reload does not move the admin listener
    std::atomic<unsigned> peer_count{1};  // set on the control thread, read by /status too
    std::unique_ptr<peer_watch> peers;    // with scale_out.peers; posts to `control`
    // False from the start of a first peer watch to its first count: until then this instance
    // cannot know its share, so /readyz keeps balancers away.
    std::atomic<bool> peers_answered{true};
    unsigned peer_watch_generation = 0;  // a count posted by an earlier watch is dropped
    std::map<std::string, discovered_backend, std::less<>> discovered;  // by backend name
    unsigned discovery_generation = 0;
};

}  // namespace sluice::proxy
