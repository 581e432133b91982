#include "health/metrics.hpp"

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <charconv>
#include <limits>
#include <set>

namespace sluice::health {

namespace {

using family = prometheus::MetricFamily;
using labels = std::vector<prometheus::ClientMetric::Label>;

template <class Map, class Key>
auto& slot(Map& m, const Key& k)
{
    auto it = m.find(k);
    if (it == m.end()) it = m.emplace(typename Map::key_type(k), typename Map::mapped_type{}).first;
    return it->second;
}

template <class Map, class Memo, class Key>
auto& memo_slot(Map& m, Memo& last, const Key& k)
{
    if (last.value && last.key == k) return *last.value;
    auto& value = slot(m, k);
    last.key = typename Map::key_type(k);
    last.value = &value;
    return value;
}

struct termination {
    std::string_view upstream_error;  // "" = none
    std::string_view timeout;
    std::string_view queue_rejection;
};

// SPEC.md reasons -> the counters they feed.
termination classify(const request_sample& s)
{
    const auto r = s.reason;
    if (r == "queue_full") return {"", "", "full"};
    if (r == "queue_timeout") return {"", "queue", "timeout"};
    if (r == "client_gone" && s.left_queue) return {"", "", "client_gone"};
    if (r == "client_timeout") return {"", "client_header", ""};
    if (r == "connect_failure") return {"connect", "", ""};
    if (r == "connect_timeout") return {"connect", "connect", ""};
    if (r.starts_with("tls_")) return {"connect", "", ""};  // a handshake with the server
    if (r == "server_timeout") return {"timeout", "server", ""};
    if (r == "server_reset" || r == "worker_killed") return {"reset", "", ""};
    if (r == "protocol_mismatch") return {"protocol", "", ""};
    if (r == "request_timeout") return {"", "request", ""};
    return {};
}

family make_family(std::string name, std::string help, prometheus::MetricType type)
{
    return family{std::move(name), std::move(help), type, {}};
}

void add_value(family& f, labels l, double v)
{
    prometheus::ClientMetric m;
    m.label = std::move(l);
    if (f.type == prometheus::MetricType::Counter)
        m.counter.value = v;
    else
        m.gauge.value = v;
    f.metric.push_back(std::move(m));
}

void add_histogram(family& f, labels l, const histogram_data& h)
{
    prometheus::ClientMetric m;
    m.label = std::move(l);
    m.histogram.sample_count = h.total;
    m.histogram.sample_sum = h.sum;
    const auto& bounds = latency_buckets();
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i <= bounds.size(); ++i) {
        cumulative += i < h.counts.size() ? h.counts[i] : 0;
        m.histogram.bucket.push_back(
            {cumulative, i < bounds.size() ? bounds[i] : std::numeric_limits<double>::infinity()});
    }
    f.metric.push_back(std::move(m));
}

// Everything the shards counted, summed.
struct totals {
    std::map<metrics_shard::key3, std::uint64_t> requests, upstream_errors, health_checks;
    std::map<metrics_shard::key2, histogram_data> durations;
    std::map<metrics_shard::key2, std::uint64_t> queue_rejected, retries;
    std::map<std::string, histogram_data> queue_waits, slot_holds, check_durations;
    std::map<std::string, std::uint64_t> timeouts;
    std::map<metrics_shard::key3, std::uint64_t> tls_handshakes;
    std::map<metrics_shard::key2, std::uint64_t> tls_errors;
};

template <class From, class To>
void sum_into(const From& from, To& to)
{
    for (const auto& [k, v] : from) {
        if constexpr (std::is_same_v<std::decay_t<decltype(v)>, histogram_data>)
            to[k].add(v);
        else
            to[k] += v;
    }
}

}  // namespace

const std::vector<double>& latency_buckets()
{
    static const std::vector<double> bounds{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                            1,     2.5,    5,     10,   30,    60,   120, 300};
    return bounds;
}

void histogram_data::observe(double v, const std::vector<double>& bounds)
{
    if (counts.empty()) counts.assign(bounds.size() + 1, 0);
    auto i = static_cast<std::size_t>(std::lower_bound(bounds.begin(), bounds.end(), v) -
                                      bounds.begin());
    ++counts[i];
    sum += v;
    ++total;
}

void histogram_data::add(const histogram_data& other)
{
    if (counts.size() < other.counts.size()) counts.resize(other.counts.size(), 0);
    for (std::size_t i = 0; i < other.counts.size(); ++i) counts[i] += other.counts[i];
    sum += other.sum;
    total += other.total;
}

void metrics_shard::record(const request_sample& s)
{
    char code_text[8];
    auto [end, ec] = std::to_chars(code_text, code_text + sizeof code_text, s.code);
    const std::string_view code(code_text, static_cast<std::size_t>(end - code_text));
    const auto t = classify(s);
    const auto& bounds = latency_buckets();
    std::lock_guard lock(mutex_);
    ++memo_slot(requests_, last_request_, std::tuple{s.listener, s.backend, code});
    memo_slot(durations_, last_duration_, std::tuple{s.listener, s.backend})
        .observe(s.total_seconds, bounds);
    if (s.queue_wait_seconds)
        memo_slot(queue_waits_, last_queue_wait_, s.backend).observe(*s.queue_wait_seconds, bounds);
    if (s.slot_hold_seconds)
        memo_slot(slot_holds_, last_slot_hold_, s.backend).observe(*s.slot_hold_seconds, bounds);
    if (!t.queue_rejection.empty())
        ++slot(queue_rejected_, std::tuple{s.backend, t.queue_rejection});
    if (!t.upstream_error.empty())
        ++slot(upstream_errors_, std::tuple{s.backend, s.server, t.upstream_error});
    if (!t.timeout.empty()) ++slot(timeouts_, t.timeout);
}

void metrics_shard::retry(std::string_view backend, std::string_view reason)
{
    std::lock_guard lock(mutex_);
    ++slot(retries_, std::tuple{backend, reason});
}

void metrics_shard::health_check(std::string_view backend, std::string_view server,
                                 std::string_view result, double seconds)
{
    std::lock_guard lock(mutex_);
    ++slot(health_checks_, std::tuple{backend, server, result});
    slot(check_durations_, backend).observe(seconds, latency_buckets());
}

void metrics_shard::tls_handshake(std::string_view listener, std::string_view version, bool resumed)
{
    std::lock_guard lock(mutex_);
    ++slot(tls_handshakes_, std::tuple{listener, version, std::string_view(resumed ? "1" : "0")});
}

void metrics_shard::tls_handshake_error(std::string_view listener, std::string_view reason)
{
    std::lock_guard lock(mutex_);
    ++slot(tls_errors_, std::tuple{listener, reason});
}

metrics::metrics() = default;
metrics::~metrics() = default;

metrics_shard& metrics::add_shard()
{
    std::lock_guard lock(shards_mutex_);
    shards_.push_back(std::make_unique<metrics_shard>());
    return *shards_.back();
}

void metrics::busy_transition(bool to_busy)
{
    std::lock_guard lock(control_mutex_);
    ++busy_transitions_[to_busy ? 1 : 0];
}

void metrics::config_reload(bool ok)
{
    std::lock_guard lock(control_mutex_);
    ++reloads_[ok ? 1 : 0];
}

void metrics::discovery_error(std::string_view backend, std::string_view reason)
{
    std::lock_guard lock(control_mutex_);
    ++discovery_errors_[{std::string(backend), std::string(reason)}];
}

namespace {

constexpr std::string_view upstream_error_kinds[] = {"connect", "reset", "timeout", "protocol"};
constexpr std::string_view timeout_kinds[] = {"client_header", "queue", "connect", "server",
                                              "request"};
constexpr std::string_view rejection_reasons[] = {"full", "timeout", "client_gone"};
// net::resolve_failure's names (health/ does not see net/).
constexpr std::string_view discovery_reasons[] = {"timeout", "servfail", "nxdomain", "empty",
                                                  "other"};
constexpr std::string_view retry_reasons[] = {"connect_failure", "empty_response",
                                              "stale_connection", "not_processed"};
constexpr std::string_view server_states[] = {"up", "busy", "down", "maint"};

// A server that left (a reload, or DNS discovery no longer naming it) takes its per-server series
// with it: with servers found by DNS, every pod address ever seen would otherwise stay in every
// scrape for the life of the process. A late failure of a request it still had counts again, and
// goes at the next scrape.
template <class Map>
void drop_departed(Map& counts, const std::set<std::pair<std::string_view, std::string_view>>& live)
{
    std::erase_if(counts, [&](const auto& entry) {
        return !live.contains({std::get<0>(entry.first), std::get<1>(entry.first)});
    });
}

// Series that exist before their first event, so dashboards and alerts see 0, not nothing.
void seed_zero_series(totals& t, const gauge_snapshot& g)
{
    for (const auto& [backend, length] : g.queue_lengths) {
        for (auto r : rejection_reasons) t.queue_rejected[{backend, std::string(r)}] += 0;
        for (auto r : retry_reasons) t.retries[{backend, std::string(r)}] += 0;
        t.queue_waits[backend].add({});
        t.slot_holds[backend].add({});
    }
    for (const auto& s : g.servers)
        for (auto k : upstream_error_kinds)
            t.upstream_errors[{s.backend, s.name, std::string(k)}] += 0;
    for (auto k : timeout_kinds) t.timeouts[std::string(k)] += 0;
}

void emit_counters(std::vector<family>& out, const totals& t)
{
    using prometheus::MetricType;
    auto requests = make_family("sluice_requests_total", "Requests answered, by status code.",
                                MetricType::Counter);
    for (const auto& [k, v] : t.requests)
        add_value(
            requests,
            {{"listener", std::get<0>(k)}, {"backend", std::get<1>(k)}, {"code", std::get<2>(k)}},
            static_cast<double>(v));
    auto durations = make_family("sluice_request_duration_seconds",
                                 "Time from request head to the last response byte.",
                                 MetricType::Histogram);
    for (const auto& [k, h] : t.durations)
        add_histogram(durations, {{"listener", std::get<0>(k)}, {"backend", std::get<1>(k)}}, h);
    auto waits = make_family("sluice_queue_wait_seconds", "Time spent waiting for a server slot.",
                             MetricType::Histogram);
    for (const auto& [b, h] : t.queue_waits) add_histogram(waits, {{"backend", b}}, h);
    auto holds = make_family("sluice_slot_hold_seconds",
                             "Time a request held a server slot (a worker), from grant to release.",
                             MetricType::Histogram);
    for (const auto& [b, h] : t.slot_holds) add_histogram(holds, {{"backend", b}}, h);
    auto rejected = make_family("sluice_queue_rejected_total",
                                "Requests that left the queue without a slot.",
                                MetricType::Counter);
    for (const auto& [k, v] : t.queue_rejected)
        add_value(rejected, {{"backend", std::get<0>(k)}, {"reason", std::get<1>(k)}},
                  static_cast<double>(v));
    auto errors = make_family("sluice_upstream_errors_total", "Failures talking to a server.",
                              MetricType::Counter);
    for (const auto& [k, v] : t.upstream_errors)
        add_value(
            errors,
            {{"backend", std::get<0>(k)}, {"server", std::get<1>(k)}, {"kind", std::get<2>(k)}},
            static_cast<double>(v));
    auto retries = make_family("sluice_retries_total", "Requests sent again, by reason.",
                               MetricType::Counter);
    for (const auto& [k, v] : t.retries)
        add_value(retries, {{"backend", std::get<0>(k)}, {"reason", std::get<1>(k)}},
                  static_cast<double>(v));
    auto timeouts = make_family("sluice_timeouts_total", "Timeouts that ended a request, by kind.",
                                MetricType::Counter);
    for (const auto& [k, v] : t.timeouts)
        add_value(timeouts, {{"kind", k}}, static_cast<double>(v));
    auto checks = make_family("sluice_health_checks_total", "Active health checks, by result.",
                              MetricType::Counter);
    for (const auto& [k, v] : t.health_checks)
        add_value(
            checks,
            {{"backend", std::get<0>(k)}, {"server", std::get<1>(k)}, {"result", std::get<2>(k)}},
            static_cast<double>(v));
    auto check_durations = make_family("sluice_health_check_duration_seconds",
                                       "Time an active health check took.", MetricType::Histogram);
    for (const auto& [b, h] : t.check_durations)
        add_histogram(check_durations, {{"backend", b}}, h);
    for (auto* f : {&requests, &durations, &waits, &holds, &rejected, &errors, &retries, &timeouts,
                    &checks, &check_durations})
        out.push_back(std::move(*f));
}

void emit_tls(std::vector<family>& out, const totals& t, const gauge_snapshot& g)
{
    using prometheus::MetricType;
    auto handshakes = make_family("sluice_tls_handshakes_total",
                                  "TLS handshakes completed, by version and resumption.",
                                  MetricType::Counter);
    for (const auto& [k, v] : t.tls_handshakes)
        add_value(handshakes,
                  {{"listener", std::get<0>(k)},
                   {"version", std::get<1>(k)},
                   {"resumed", std::get<2>(k) == "1" ? "true" : "false"}},
                  static_cast<double>(v));
    auto errors = make_family("sluice_tls_handshake_errors_total",
                              "TLS handshakes that failed, by reason.", MetricType::Counter);
    for (const auto& [k, v] : t.tls_errors)
        add_value(errors, {{"listener", std::get<0>(k)}, {"reason", std::get<1>(k)}},
                  static_cast<double>(v));
    auto expiry = make_family("sluice_tls_certificate_expiry_timestamp_seconds",
                              "When a listener's certificate expires (Unix time).",
                              MetricType::Gauge);
    for (const auto& c : g.certificates)
        add_value(expiry, {{"listener", c.listener}, {"certificate", c.file}}, c.not_after_unix);
    for (auto* f : {&handshakes, &errors, &expiry}) out.push_back(std::move(*f));
}

void emit_gauges(std::vector<family>& out, const gauge_snapshot& g)
{
    using prometheus::MetricType;
    auto queue = make_family("sluice_queue_length", "Requests waiting for a server slot.",
                             MetricType::Gauge);
    for (const auto& [b, n] : g.queue_lengths)
        add_value(queue, {{"backend", b}}, static_cast<double>(n));
    auto in_flight = make_family("sluice_server_in_flight", "Requests a server is working on.",
                                 MetricType::Gauge);
    auto max = make_family("sluice_server_max_connections",
                           "Slots of a server (its worker count); 0 = no limit.",
                           MetricType::Gauge);
    auto state = make_family("sluice_server_state", "1 for the server's current state.",
                             MetricType::Gauge);
    for (const auto& s : g.servers) {
        labels l{{"backend", s.backend}, {"server", s.name}};
        add_value(in_flight, l, s.in_flight);
        add_value(max, l, s.max_connections);
        for (auto st : server_states) {
            auto with_state = l;
            with_state.push_back({"state", std::string(st)});
            add_value(state, std::move(with_state), st == s.state ? 1 : 0);
        }
    }
    auto busy = make_family("sluice_busy", "1 while the proxy is busy (see /healthz).",
                            MetricType::Gauge);
    add_value(busy, {}, g.busy ? 1 : 0);
    auto connections = make_family("sluice_client_connections", "Open client connections.",
                                   MetricType::Gauge);
    for (const auto& [l, n] : g.client_connections)
        add_value(connections, {{"listener", l}}, static_cast<double>(n));
    auto peers = make_family("sluice_scale_out_peers",
                             "Sluice instances sharing the servers (scale_out.peers; 1 = alone).",
                             MetricType::Gauge);
    add_value(peers, {}, g.scale_out_peers);
    auto discovered = make_family("sluice_discovery_servers",
                                  "Servers a backend's DNS discovery currently has.",
                                  MetricType::Gauge);
    for (const auto& [b, n] : g.discovery_servers)
        add_value(discovered, {{"backend", b}}, static_cast<double>(n));
    for (auto* f : {&queue, &in_flight, &max, &state, &busy, &connections, &peers, &discovered})
        out.push_back(std::move(*f));
}

}  // namespace

std::string metrics::scrape(const gauge_snapshot& g)
{
    totals t;
    std::set<std::pair<std::string_view, std::string_view>> live;  // backend, server
    for (const auto& s : g.servers) live.emplace(s.backend, s.name);
    {
        std::lock_guard lock(shards_mutex_);
        for (auto& shard : shards_) {
            std::lock_guard shard_lock(shard->mutex_);
            drop_departed(shard->upstream_errors_, live);  // not memoized: erasing is safe
            drop_departed(shard->health_checks_, live);
            sum_into(shard->requests_, t.requests);
            sum_into(shard->durations_, t.durations);
            sum_into(shard->queue_waits_, t.queue_waits);
            sum_into(shard->slot_holds_, t.slot_holds);
            sum_into(shard->queue_rejected_, t.queue_rejected);
            sum_into(shard->upstream_errors_, t.upstream_errors);
            sum_into(shard->retries_, t.retries);
            sum_into(shard->timeouts_, t.timeouts);
            sum_into(shard->health_checks_, t.health_checks);
            sum_into(shard->check_durations_, t.check_durations);
            sum_into(shard->tls_handshakes_, t.tls_handshakes);
            sum_into(shard->tls_errors_, t.tls_errors);
        }
    }
    seed_zero_series(t, g);
    std::vector<family> families;
    emit_counters(families, t);
    emit_gauges(families, g);
    emit_tls(families, t, g);
    using prometheus::MetricType;
    auto transitions = make_family("sluice_busy_transitions_total",
                                   "Flips of the busy/free signal, by new state.",
                                   MetricType::Counter);
    auto reloads = make_family("sluice_config_reloads_total", "Config reloads, by result.",
                               MetricType::Counter);
    auto dns_errors = make_family("sluice_discovery_errors_total",
                                  "Failed DNS resolutions of a backend's discovery, by reason.",
                                  MetricType::Counter);
    {
        std::lock_guard lock(control_mutex_);
        add_value(transitions, {{"to", "free"}}, static_cast<double>(busy_transitions_[0]));
        add_value(transitions, {{"to", "busy"}}, static_cast<double>(busy_transitions_[1]));
        add_value(reloads, {{"result", "error"}}, static_cast<double>(reloads_[0]));
        add_value(reloads, {{"result", "success"}}, static_cast<double>(reloads_[1]));
        auto errors = discovery_errors_;
        for (const auto& [backend, n] : g.discovery_servers)  // series from zero, for rate()
            for (auto reason : discovery_reasons)
                errors.try_emplace({backend, std::string(reason)});
        for (const auto& [k, v] : errors)
            add_value(dns_errors, {{"backend", std::get<0>(k)}, {"reason", std::get<1>(k)}},
                      static_cast<double>(v));
    }
    families.push_back(std::move(transitions));
    families.push_back(std::move(reloads));
    families.push_back(std::move(dns_errors));
    return prometheus::TextSerializer().Serialize(families);
}

}  // namespace sluice::health
