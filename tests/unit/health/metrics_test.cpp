#include "health/metrics.hpp"

#include <gtest/gtest.h>

#include <string>

namespace sluice::health {
namespace {

// The value of one exposition line, e.g. `sluice_requests_total{...} 3`; -1 when absent.
double value_of(const std::string& text, const std::string& series)
{
    const auto line_start = "\n" + series + " ";
    auto pos = text.find(line_start);
    if (pos == std::string::npos) return -1;
    return std::stod(text.substr(pos + line_start.size()));
}

gauge_snapshot one_backend()
{
    gauge_snapshot g;
    g.queue_lengths = {{"app", 3}};
    g.servers = {{"app", "app1", "up", 2, 2}};
    g.client_connections = {{"web", 7}};
    g.busy = true;
    return g;
}

// A server that left the config (or DNS discovery's answer) leaves /metrics: pod addresses must
// not pile up in every scrape for the life of the process.
TEST(metrics, a_departed_servers_series_go_with_it)
{
    metrics m;
    auto& shard = m.add_shard();
    for (const auto* server : {"app1", "10.0.0.9:8000"}) {
        shard.record({"web", "app", server, 502, 0.1, std::nullopt, "server_reset", false});
        shard.health_check("app", server, "fail", 0.01);
    }
    auto g = one_backend();
    g.servers.push_back({"app", "10.0.0.9:8000", "up", 0, 4});
    const auto both = m.scrape(g);
    const auto gone =
        R"(sluice_upstream_errors_total{backend="app",server="10.0.0.9:8000",kind="reset"})";
    const auto kept = R"(sluice_upstream_errors_total{backend="app",server="app1",kind="reset"})";
    EXPECT_EQ(value_of(both, gone), 1);
    const auto after = m.scrape(one_backend());  // 10.0.0.9:8000 has left
    EXPECT_EQ(value_of(after, gone), -1);
    EXPECT_EQ(
        value_of(
            after,
            R"(sluice_health_checks_total{backend="app",server="10.0.0.9:8000",result="fail"})"),
        -1);
    EXPECT_EQ(value_of(after, kept), 1);
    EXPECT_EQ(value_of(after,
                       R"(sluice_health_checks_total{backend="app",server="app1",result="fail"})"),
              1);
}

TEST(metrics, shards_are_summed_at_scrape)
{
    metrics m;
    auto& a = m.add_shard();
    auto& b = m.add_shard();
    a.record({"web", "app", "app1", 200, 0.002, 0.0, "", false});
    b.record({"web", "app", "app1", 200, 0.004, std::nullopt, "", false});
    b.record({"web", "app", "", 503, 0.5, 0.5, "queue_timeout", false});
    const auto text = m.scrape(one_backend());
    EXPECT_EQ(value_of(text, R"(sluice_requests_total{listener="web",backend="app",code="200"})"),
              2);
    EXPECT_EQ(value_of(text, R"(sluice_requests_total{listener="web",backend="app",code="503"})"),
              1);
    EXPECT_EQ(value_of(text,
                       R"(sluice_request_duration_seconds_count{listener="web",backend="app"})"),
              3);
    EXPECT_EQ(value_of(text, R"(sluice_queue_wait_seconds_count{backend="app"})"), 2);
    EXPECT_EQ(value_of(text, R"(sluice_queue_rejected_total{backend="app",reason="timeout"})"), 1);
    EXPECT_EQ(value_of(text, R"(sluice_timeouts_total{kind="queue"})"), 1);
}

// A shard remembers the last slot it counted into: alternating labels must not count into it.
TEST(metrics, one_shard_counts_alternating_labels_apart)
{
    metrics m;
    auto& s = m.add_shard();
    s.record({"web", "app", "app1", 200, 0.002, 0.0, "", false});
    s.record({"web", "api", "api1", 200, 0.002, 0.0, "", false});
    s.record({"web", "app", "app1", 503, 0.002, std::nullopt, "", false});
    s.record({"web", "app", "app1", 200, 0.002, 0.0, "", false});
    const auto text = m.scrape(one_backend());
    EXPECT_EQ(value_of(text, R"(sluice_requests_total{listener="web",backend="app",code="200"})"),
              2);
    EXPECT_EQ(value_of(text, R"(sluice_requests_total{listener="web",backend="api",code="200"})"),
              1);
    EXPECT_EQ(value_of(text, R"(sluice_requests_total{listener="web",backend="app",code="503"})"),
              1);
    EXPECT_EQ(value_of(text,
                       R"(sluice_request_duration_seconds_count{listener="web",backend="app"})"),
              3);
    EXPECT_EQ(value_of(text,
                       R"(sluice_request_duration_seconds_count{listener="web",backend="api"})"),
              1);
    EXPECT_EQ(value_of(text, R"(sluice_queue_wait_seconds_count{backend="app"})"), 2);
    EXPECT_EQ(value_of(text, R"(sluice_queue_wait_seconds_count{backend="api"})"), 1);
}

TEST(metrics, reasons_feed_the_error_and_timeout_counters)
{
    struct row {
        const char* reason;
        bool left_queue;
        std::string series;
    };
    const row rows[] = {
        {"queue_full", false, R"(sluice_queue_rejected_total{backend="app",reason="full"})"},
        {"client_gone", true, R"(sluice_queue_rejected_total{backend="app",reason="client_gone"})"},
        {"connect_failure", false,
         R"(sluice_upstream_errors_total{backend="app",server="app1",kind="connect"})"},
        {"server_timeout", false,
         R"(sluice_upstream_errors_total{backend="app",server="app1",kind="timeout"})"},
        {"server_timeout", false, R"(sluice_timeouts_total{kind="server"})"},
        {"server_reset", false,
         R"(sluice_upstream_errors_total{backend="app",server="app1",kind="reset"})"},
        {"protocol_mismatch", false,
         R"(sluice_upstream_errors_total{backend="app",server="app1",kind="protocol"})"},
        {"client_timeout", false, R"(sluice_timeouts_total{kind="client_header"})"},
        {"connect_timeout", false, R"(sluice_timeouts_total{kind="connect"})"},
    };
    for (const auto& r : rows) {
        metrics m;
        m.add_shard().record(
            {"web", "app", "app1", 502, 0.1, std::nullopt, r.reason, r.left_queue});
        EXPECT_EQ(value_of(m.scrape(one_backend()), r.series), 1) << r.reason;
    }
}

TEST(metrics, client_gone_outside_the_queue_is_no_queue_rejection)
{
    metrics m;
    m.add_shard().record({"web", "app", "app1", 499, 0.1, std::nullopt, "client_gone", false});
    EXPECT_EQ(value_of(m.scrape(one_backend()),
                       R"(sluice_queue_rejected_total{backend="app",reason="client_gone"})"),
              0);
}

TEST(metrics, gauges_and_zero_series_are_present_before_any_request)
{
    metrics m;
    const auto text = m.scrape(one_backend());
    EXPECT_EQ(value_of(text, R"(sluice_queue_length{backend="app"})"), 3);
    EXPECT_EQ(value_of(text, R"(sluice_server_in_flight{backend="app",server="app1"})"), 2);
    EXPECT_EQ(value_of(text, R"(sluice_server_max_connections{backend="app",server="app1"})"), 2);
    EXPECT_EQ(value_of(text, R"(sluice_server_state{backend="app",server="app1",state="up"})"), 1);
    EXPECT_EQ(value_of(text, R"(sluice_server_state{backend="app",server="app1",state="down"})"),
              0);
    EXPECT_EQ(value_of(text, "sluice_busy"), 1);
    EXPECT_EQ(value_of(text, R"(sluice_client_connections{listener="web"})"), 7);
    EXPECT_EQ(value_of(text, R"(sluice_retries_total{backend="app",reason="stale_connection"})"),
              0);
    EXPECT_EQ(value_of(text, R"(sluice_timeouts_total{kind="request"})"), 0);
    EXPECT_EQ(value_of(text, R"(sluice_config_reloads_total{result="error"})"), 0);
}

TEST(metrics, busy_transitions_and_retries_are_counted)
{
    metrics m;
    m.busy_transition(true);
    m.busy_transition(false);
    m.busy_transition(true);
    m.add_shard().retry("app", "stale_connection");
    const auto text = m.scrape(one_backend());
    EXPECT_EQ(value_of(text, R"(sluice_busy_transitions_total{to="busy"})"), 2);
    EXPECT_EQ(value_of(text, R"(sluice_busy_transitions_total{to="free"})"), 1);
    EXPECT_EQ(value_of(text, R"(sluice_retries_total{backend="app",reason="stale_connection"})"),
              1);
}

TEST(metrics, histogram_buckets_are_cumulative_and_end_in_inf)
{
    metrics m;
    auto& s = m.add_shard();
    for (double v : {0.0005, 0.003, 0.2, 1000.0})
        s.record({"web", "app", "app1", 200, v, std::nullopt, "", false});
    const auto text = m.scrape(one_backend());
    const std::string prefix =
        R"(sluice_request_duration_seconds_bucket{listener="web",backend="app",le=)";
    EXPECT_EQ(value_of(text, prefix + R"("0.001"})"), 1);
    EXPECT_EQ(value_of(text, prefix + R"("0.005"})"), 2);
    EXPECT_EQ(value_of(text, prefix + R"("0.25"})"), 3);
    EXPECT_EQ(value_of(text, prefix + R"("300"})"), 3);
    EXPECT_EQ(value_of(text, prefix + R"("+Inf"})"), 4);
}

}  // namespace
}  // namespace sluice::health
