#pragma once
// Every metric of SPEC.md's table, named in one place.
//
// Counting never touches a lock or cache line that another event loop uses: each worker thread
// owns a metrics_shard (its mutex is uncontended except for the moment a scrape copies it), and
// /metrics folds all shards together. Gauges (queue length, in-flight, states, connections) are
// not counted at all: the scraper reads them from the running state and passes them in.
// prometheus-cpp provides the data model and the text serializer (only metrics.cpp includes it).

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace sluice::health {

// What one finished request contributes. `reason` is the access log's (SPEC.md) and decides the
// error, timeout and queue-rejection counters.
struct request_sample {
    std::string_view listener, backend, server;
    unsigned code = 0;
    double total_seconds = 0;
    std::optional<double> queue_wait_seconds;  // set when the request asked for a slot
    std::string_view reason;
    bool left_queue = false;                  // client_gone while waiting for a slot
    std::optional<double> slot_hold_seconds;  // set when the request held a server slot
};

struct histogram_data {
    std::vector<std::uint64_t> counts;  // one per bound, plus +Inf; not cumulative
    double sum = 0;
    std::uint64_t total = 0;
    void observe(double v, const std::vector<double>& bounds);
    void add(const histogram_data& other);
};

class metrics_shard {
public:
    using key2 = std::tuple<std::string, std::string>;
    using key3 = std::tuple<std::string, std::string, std::string>;

    void record(const request_sample& s);
    void retry(std::string_view backend, std::string_view reason);
    void health_check(std::string_view backend, std::string_view server, std::string_view result,
                      double seconds);
    void tls_handshake(std::string_view listener, std::string_view version, bool resumed);
    void tls_handshake_error(std::string_view listener, std::string_view reason);

private:
    friend class metrics;
    // The last slot found in a map, by its key: almost every request of a shard has the same
    // labels, and a hit costs a few short compares instead of a walk down the tree. (Map nodes
    // stay put: no map a memo points into is ever erased from.)
    template <class Key, class Value>
    struct memo {
        Key key;
        Value* value = nullptr;
    };

    std::mutex mutex_;
    std::map<key3, std::uint64_t, std::less<>> requests_;                 // listener, backend, code
    std::map<key2, histogram_data, std::less<>> durations_;               // listener, backend
    std::map<std::string, histogram_data, std::less<>> queue_waits_;      // backend
    std::map<std::string, histogram_data, std::less<>> slot_holds_;       // backend
    std::map<key2, std::uint64_t, std::less<>> queue_rejected_;           // backend, reason
    std::map<key3, std::uint64_t, std::less<>> upstream_errors_;          // backend, server, kind
    std::map<key2, std::uint64_t, std::less<>> retries_;                  // backend, reason
    std::map<std::string, std::uint64_t, std::less<>> timeouts_;          // kind
    std::map<key3, std::uint64_t, std::less<>> health_checks_;            // backend, server, result
    std::map<std::string, histogram_data, std::less<>> check_durations_;  // backend
    std::map<key3, std::uint64_t, std::less<>> tls_handshakes_;  // listener, version, resumed
    std::map<key2, std::uint64_t, std::less<>> tls_errors_;      // listener, reason
    memo<key3, std::uint64_t> last_request_;
    memo<key2, histogram_data> last_duration_;
    memo<std::string, histogram_data> last_queue_wait_;
    memo<std::string, histogram_data> last_slot_hold_;
};

// The running state that /metrics reports as gauges, read at scrape time.
struct gauge_snapshot {
    struct server {
        std::string backend, name, state;  // state: up | busy | down | maint
        unsigned in_flight = 0, max_connections = 0;
    };
    std::vector<std::pair<std::string, std::size_t>> queue_lengths;  // backend, length
    std::vector<server> servers;
    std::vector<std::pair<std::string, std::uint64_t>> client_connections;  // listener, open
    struct certificate {
        std::string listener, file;
        double not_after_unix = 0;
    };
    std::vector<certificate> certificates;  // of TLS listeners
    bool busy = false;
    unsigned scale_out_peers = 1;
    std::vector<std::pair<std::string, std::size_t>> discovery_servers;  // backend, servers found
};

class metrics {
public:
    metrics();
    ~metrics();

    // A shard for one thread; it lives as long as this object.
    metrics_shard& add_shard();

    void busy_transition(bool to_busy);
    void config_reload(bool ok);
    // A failed DNS resolution of a backend's discovery; `reason` as net::resolve_failure's.
    void discovery_error(std::string_view backend, std::string_view reason);

    // Prometheus text format of everything counted plus the gauges in `g`.
    std::string scrape(const gauge_snapshot& g);

private:
    std::mutex shards_mutex_;
    std::vector<std::unique_ptr<metrics_shard>> shards_;
    std::mutex control_mutex_;  // busy transitions and reloads: rare, off the request path
    std::array<std::uint64_t, 2> busy_transitions_{};  // to free, to busy
    std::array<std::uint64_t, 2> reloads_{};           // error, success
    std::map<std::tuple<std::string, std::string>, std::uint64_t, std::less<>>
        discovery_errors_;  // backend, reason
};

// Bucket bounds, in seconds: request latencies and queue waits run from milliseconds to minutes.
const std::vector<double>& latency_buckets();

}  // namespace sluice::health
