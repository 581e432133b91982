// Queueing at the proxy as a client and an operator see it: never more than max_connections
// requests at a server, FIFO order, the two 503s (queue full, queue timeout), clients that leave
// the queue, and the busy/free signal of /healthz with its hold.

#include "integration/polling.hpp"
#include "support/http_client.hpp"
#include "support/proxy_config.hpp"
#include "support/scripted_backend.hpp"
#include "support/sluice_process.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <memory>
#include <set>
#include <sstream>
#include <thread>

namespace sluice::test {
namespace {

// Holds every request at the backend until opened (or for at most 10 s, so a failed test that
// forgets to open it still ends).
class gate {
public:
    void open() { open_ = true; }
    void wait() const
    {
        eventually([this] { return open_.load(); });
    }

private:
    std::atomic<bool> open_{false};
};

// A backend whose requests wait at `g` before their 200.
backend_options gated(const gate& g)
{
    return {.handler = [&g](const recorded_request&) {
        g.wait();
        return reply{.body = "ok"};
    }};
}

// The first number after `"key":` in /status; -1 when absent. Queue tests have one backend.
long status_number(const sluice_process& proxy, const std::string& key)
{
    auto r = http_get(proxy.admin_port(), "/status");
    auto at = r.body.find("\"" + key + "\":");
    if (r.status != 200 || at == std::string::npos) return -1;
    return std::stol(r.body.substr(at + key.size() + 3));
}

long queue_length(const sluice_process& proxy) { return status_number(proxy, "queue_length"); }

// A request written on its own connection and answered later: many of them wait in the queue at
// once without a thread each.
class pending {
public:
    pending(std::uint16_t port, const std::string& path) : c_{port}
    {
        c_.send_raw("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    }
    response wait(millis timeout = 10s) { return c_.read_response(false, true, timeout); }
    void hang_up() { c_.close(); }

private:
    connection c_;
};

std::string sample_dump(const std::vector<json_line>& log)
{
    std::string out;
    for (const auto& line : log) out += line.text() + "\n";
    return out;
}

proxy_config one_slot(const scripted_backend& app,
                      const std::string& queue = "{ max_length: 1000 }")
{
    return proxy_config{}.backend("app", {app.address()},
                                  {"queue: " + queue, "server_defaults: { max_connections: 1 }"});
}

// Counts the requests a server handles at once, measured inside the handler so that a reply
// already sent can never overlap the next request in the count.
struct concurrency_probe {
    std::atomic<unsigned> now{0}, max{0};

    backend_options options(millis work)
    {
        return {.handler = [this, work](const recorded_request&) {
            unsigned n = ++now;
            for (unsigned seen = max; n > seen && !max.compare_exchange_weak(seen, n);) {
            }
            std::this_thread::sleep_for(work);
            --now;
            return reply{.body = "ok"};
        }};
    }
};

TEST(queueing, a_burst_of_300_never_exceeds_max_connections_at_any_server)
{
    concurrency_probe p1, p2;
    scripted_backend app1{p1.options(5ms)}, app2{p2.options(5ms)};
    sluice_process proxy{proxy_config{}.backend("app", {app1.address(), app2.address()},
                                                {"queue: { max_length: 1000 }",
                                                 "server_defaults: { max_connections: 3 }"})};

    std::deque<pending> burst;
    for (int i = 0; i < 300; ++i) burst.emplace_back(proxy.port(), "/burst/" + std::to_string(i));
    int ok = 0;
    for (auto& request : burst) {
        auto r = request.wait(20s);
        ok += r.status == 200;
        EXPECT_EQ(r.status, 200) << r.error << r.body;
    }
    EXPECT_EQ(ok, 300);
    EXPECT_EQ(app1.request_count() + app2.request_count(), 300u);
    EXPECT_LE(p1.max.load(), 3u);
    EXPECT_LE(p2.max.load(), 3u);
    EXPECT_EQ(p1.max.load(), 3u) << "the queue never filled the first server's slots";
    EXPECT_EQ(p2.max.load(), 3u) << "the queue never filled the second server's slots";
}

TEST(queueing, queued_requests_are_served_in_arrival_order)
{
    gate g;
    scripted_backend app{gated(g)};
    sluice_process proxy{one_slot(app)};

    std::deque<pending> requests;
    requests.emplace_back(proxy.port(), "/0");
    ASSERT_TRUE(app.wait_for_requests(1));
    for (int i = 1; i <= 5; ++i) {
        requests.emplace_back(proxy.port(), "/" + std::to_string(i));
        ASSERT_TRUE(eventually([&] { return queue_length(proxy) == i; }))
            << "request /" << i << " never showed in /status queue_length";
    }
    g.open();
    for (auto& r : requests) EXPECT_EQ(r.wait().status, 200);
    auto seen = app.requests();
    ASSERT_EQ(seen.size(), 6u);
    for (std::size_t i = 0; i < seen.size(); ++i)
        EXPECT_EQ(seen[i].target, "/" + std::to_string(i)) << "position " << i;
}

TEST(queueing, full_queue_answers_503_at_once)
{
    gate g;
    scripted_backend app{gated(g)};
    sluice_process proxy{one_slot(app, "{ max_length: 2 }").timeout("queue", "20s")};

    std::deque<pending> held;
    held.emplace_back(proxy.port(), "/slot");
    ASSERT_TRUE(app.wait_for_requests(1));
    held.emplace_back(proxy.port(), "/q1");
    held.emplace_back(proxy.port(), "/q2");
    ASSERT_TRUE(eventually([&] { return queue_length(proxy) == 2; }));

    auto start = steady::now();
    auto r = http_get(proxy.port(), "/overflow");
    auto took = since(start);
    EXPECT_EQ(r.status, 503) << r.error;
    EXPECT_LT(took, 2s) << "a full queue must refuse at once, not after timeouts.queue";
    EXPECT_TRUE(r.headers.contains("Retry-After"));
    EXPECT_NE(r.body.find("queue_full"), std::string::npos) << r.body;
    EXPECT_EQ(proxy.wait_metric(R"(sluice_queue_rejected_total{backend="app",reason="full"})", 1),
              1);

    g.open();
    for (auto& h : held) EXPECT_EQ(h.wait().status, 200);
    EXPECT_EQ(app.request_count(), 3u) << "the refused request reached the backend";
    auto log = proxy.wait_access_log(4);
    auto refused = std::count_if(log.begin(), log.end(), [](const json_line& l) {
        return l["path"] == "/overflow" && l["status"] == "503" && l["reason"] == "queue_full";
    });
    EXPECT_EQ(refused, 1) << sample_dump(log);
}

TEST(queueing, queue_timeout_answers_503_with_retry_after)
{
    gate g;
    scripted_backend app{gated(g)};
    sluice_process proxy{one_slot(app).timeout("queue", "300ms")};

    pending first{proxy.port(), "/slot"};  // takes the only slot
    ASSERT_TRUE(app.wait_for_requests(1));
    auto start = steady::now();
    auto second = http_get(proxy.port(), "/waits");  // waits 300 ms, then 503
    auto took = since(start);
    EXPECT_EQ(second.status, 503) << second.error;
    EXPECT_TRUE(second.headers.contains("Retry-After"));
    EXPECT_NE(second.body.find("queue_timeout"), std::string::npos) << second.body;
    EXPECT_GE(took, 250ms);
    EXPECT_LT(took, 5s);
    EXPECT_EQ(
        proxy.wait_metric(R"(sluice_queue_rejected_total{backend="app",reason="timeout"})", 1), 1);

    g.open();
    EXPECT_EQ(first.wait().status, 200);
    auto log = proxy.wait_access_log(2);
    auto timed_out = std::find_if(log.begin(), log.end(),
                                  [](const json_line& l) { return l["path"] == "/waits"; });
    ASSERT_NE(timed_out, log.end()) << sample_dump(log);
    EXPECT_EQ((*timed_out)["status"], "503");
    EXPECT_EQ((*timed_out)["reason"], "queue_timeout");
    EXPECT_GE(timed_out->number("queue_ms"), 250);
    EXPECT_EQ(app.request_count(), 1u);
}

TEST(queueing, a_client_that_hangs_up_while_queued_leaves_the_queue_at_once)
{
    gate g;
    scripted_backend app{gated(g)};
    sluice_process proxy{one_slot(app).timeout("queue", "30s")};

    pending first{proxy.port(), "/slot"};
    ASSERT_TRUE(app.wait_for_requests(1));
    pending quitter{proxy.port(), "/quitter"};
    ASSERT_TRUE(eventually([&] { return queue_length(proxy) == 1; }));

    auto start = steady::now();
    quitter.hang_up();
    EXPECT_TRUE(eventually([&] { return queue_length(proxy) == 0; }, 5s));
    EXPECT_LT(since(start), 2s) << "the queue kept a client that had gone";
    EXPECT_EQ(
        proxy.wait_metric(R"(sluice_queue_rejected_total{backend="app",reason="client_gone"})", 1),
        1);

    g.open();
    EXPECT_EQ(first.wait().status, 200);
    EXPECT_EQ(app.request_count(), 1u) << "the request of a gone client reached the backend";
}

// /healthz as a load balancer polls it: status and body.
std::pair<int, std::string> healthz(const sluice_process& proxy)
{
    auto r = http_get(proxy.admin_port(), "/healthz");
    return {r.status, r.body};
}

// proxy_config writes the admin map itself; the hold goes under it.
std::string with_busy_hold(const proxy_config& config, const std::string& hold)
{
    auto yaml = config.yaml();
    const std::string admin = "admin:\n  bind: 127.0.0.1:0\n";
    auto at = yaml.find(admin);
    if (at != std::string::npos) yaml.insert(at + admin.size(), "  busy_hold: " + hold + "\n");
    return yaml;
}

TEST(queueing, healthz_turns_busy_while_requests_queue_and_free_after_the_hold)
{
    gate g;
    scripted_backend app{gated(g)};
    sluice_process proxy{with_busy_hold(one_slot(app), "500ms")};
    EXPECT_EQ(healthz(proxy), std::pair(200, std::string("free\n")));

    pending first{proxy.port(), "/slot"};
    ASSERT_TRUE(app.wait_for_requests(1));
    pending queued{proxy.port(), "/queued"};
    ASSERT_TRUE(eventually([&] { return queue_length(proxy) == 1; }));
    auto queued_at = steady::now();
    EXPECT_TRUE(eventually([&] { return healthz(proxy).first == 503; }, 5s));
    auto to_busy = since(queued_at);
    EXPECT_EQ(healthz(proxy), std::pair(503, std::string("busy\n")));
    EXPECT_GE(to_busy, 400ms) << "turned busy before the hold";
    EXPECT_EQ(proxy.wait_metric(R"(sluice_busy)", 1), 1);

    g.open();
    EXPECT_EQ(first.wait().status, 200);
    EXPECT_EQ(queued.wait().status, 200);
    auto drained_at = steady::now();
    EXPECT_TRUE(eventually([&] { return healthz(proxy).first == 200; }, 5s));
    auto to_free = since(drained_at);
    EXPECT_EQ(healthz(proxy), std::pair(200, std::string("free\n")));
    EXPECT_GE(to_free, 400ms) << "turned free before the hold";
    EXPECT_EQ(proxy.wait_metric(R"(sluice_busy)", 0), 0);
    EXPECT_EQ(proxy.wait_metric(R"(sluice_busy_transitions_total{to="busy"})", 1), 1);
    EXPECT_EQ(proxy.wait_metric(R"(sluice_busy_transitions_total{to="free"})", 1), 1);
}

TEST(queueing, a_queue_shorter_than_the_hold_never_turns_healthz_busy)
{
    gate g;
    scripted_backend app{gated(g)};
    sluice_process proxy{with_busy_hold(one_slot(app), "500ms")};

    pending first{proxy.port(), "/slot"};
    ASSERT_TRUE(app.wait_for_requests(1));
    pending queued{proxy.port(), "/queued"};
    ASSERT_TRUE(eventually([&] { return queue_length(proxy) == 1; }));
    auto queued_at = steady::now();
    // The queue lives ~100 ms, a fifth of the hold; /healthz is polled all along and after.
    std::set<int> statuses;
    bool opened = false;
    millis queue_lifetime{0};
    while (since(queued_at) < 1500ms) {
        statuses.insert(healthz(proxy).first);
        if (!opened && since(queued_at) >= 100ms) {
            g.open();
            opened = true;
        }
        if (opened && queue_lifetime == 0ms && queue_length(proxy) == 0)
            queue_lifetime = since(queued_at);
        std::this_thread::sleep_for(5ms);
    }
    EXPECT_EQ(first.wait().status, 200);
    EXPECT_EQ(queued.wait().status, 200);
    ASSERT_GT(queue_lifetime, 0ms);
    ASSERT_LT(queue_lifetime, 400ms) << "the queue outlived the hold: the check proves nothing";
    EXPECT_EQ(statuses, std::set<int>{200})
        << "a queue of " << queue_lifetime.count() << " ms flipped /healthz with a 500 ms hold";
    EXPECT_EQ(proxy.wait_metric(R"(sluice_busy_transitions_total{to="busy"})", 0), 0);
}

TEST(queueing, healthz_answers_fast_with_200_requests_queued)
{
    gate g;
    scripted_backend app{gated(g)};
    sluice_process proxy{with_busy_hold(one_slot(app), "100ms")};

    std::deque<pending> load;
    load.emplace_back(proxy.port(), "/slot");
    ASSERT_TRUE(app.wait_for_requests(1));
    for (int i = 0; i < 200; ++i) load.emplace_back(proxy.port(), "/q/" + std::to_string(i));
    ASSERT_TRUE(eventually([&] { return queue_length(proxy) == 200; }))
        << "queue_length " << queue_length(proxy);
    ASSERT_TRUE(eventually([&] { return healthz(proxy).first == 503; }, 5s))
        << "200 queued behind one slot is busy";

    connection lb{proxy.admin_port()};  // one keep-alive connection, as a load balancer's
    std::vector<double> latencies_ms;
    int answered = 0;
    for (int i = 0; i < 100; ++i) {
        auto start = steady::now();
        auto r = lb.send({.path = "/healthz"});
        latencies_ms.push_back(
            std::chrono::duration<double, std::milli>(steady::now() - start).count());
        answered += r.status == 503;
        EXPECT_EQ(r.status, 503) << r.error;
        if (!r.error.empty()) lb = connection{proxy.admin_port()};
    }
    EXPECT_EQ(answered, 100);
    std::sort(latencies_ms.begin(), latencies_ms.end());
    const double p50 = latencies_ms[49], p99 = latencies_ms[98], max = latencies_ms.back();
    std::cout << "/healthz with 200 queued: p50 " << p50 << " ms, p99 " << p99 << " ms, max " << max
              << " ms\n";
    EXPECT_LT(p99, 50.0);

    g.open();
    int ok = 0;
    for (auto& request : load) ok += request.wait(20s).status == 200;
    EXPECT_EQ(ok, 201);
}

// Every sample of `name` in /metrics, summed over its labels.
double metric_sum(const std::string& metrics, const std::string& name)
{
    double sum = 0;
    std::istringstream lines{metrics};
    for (std::string line; std::getline(lines, line);)
        if (line.rfind(name + "{", 0) == 0 || line.rfind(name + " ", 0) == 0)
            sum += std::stod(line.substr(line.rfind(' ') + 1));
    return sum;
}

// Sample lines of exactly `name` (with or without labels).
std::size_t sample_count(const std::string& metrics, const std::string& name)
{
    std::size_t count = 0;
    std::istringstream lines{metrics};
    for (std::string line; std::getline(lines, line);)
        count += line.rfind(name + "{", 0) == 0 || line.rfind(name + " ", 0) == 0;
    return count;
}

TEST(queueing, metrics_name_every_family_and_count_every_request)
{
    gate g;
    scripted_backend app{{.handler = [&g](const recorded_request& r) {
        if (r.target == "/held") g.wait();
        return r.target == "/missing" ? reply{.status = 404, .body = "no"} : reply{.body = "ok"};
    }}};
    sluice_process proxy{one_slot(app, "{ max_length: 1 }").timeout("queue", "200ms")};

    int sent = 0;
    for (int i = 0; i < 10; ++i, ++sent) EXPECT_EQ(http_get(proxy.port(), "/ok").status, 200);
    for (int i = 0; i < 3; ++i, ++sent) EXPECT_EQ(http_get(proxy.port(), "/missing").status, 404);
    pending held{proxy.port(), "/held"};
    ++sent;
    ASSERT_TRUE(app.wait_for_requests(14));
    EXPECT_EQ(http_get(proxy.port(), "/timeout").status, 503);  // queue timeout
    ++sent;
    pending queued{proxy.port(), "/queued"};
    ++sent;
    ASSERT_TRUE(eventually([&] { return queue_length(proxy) == 1; }));
    EXPECT_EQ(http_get(proxy.port(), "/full").status, 503);  // queue full
    ++sent;
    g.open();
    EXPECT_EQ(held.wait().status, 200);
    auto last = queued.wait();
    EXPECT_TRUE(last.status == 200 || last.status == 503) << last.status;

    std::string body;
    EXPECT_TRUE(eventually([&] {
        body = http_get(proxy.admin_port(), "/metrics").body;
        return metric_sum(body, "sluice_requests_total") == sent;
    })) << "sluice_requests_total sums to "
        << metric_sum(body, "sluice_requests_total") << ", sent " << sent << "\n"
        << body;

    // sluice_health_checks_total and sluice_health_check_duration_seconds come with active
    // health checks (the health issue); they may be absent until then.
    const std::vector<std::pair<std::string, std::string>> families = {
        {"sluice_requests_total", "counter"},
        {"sluice_request_duration_seconds", "histogram"},
        {"sluice_queue_length", "gauge"},
        {"sluice_queue_wait_seconds", "histogram"},
        {"sluice_queue_rejected_total", "counter"},
        {"sluice_server_in_flight", "gauge"},
        {"sluice_server_max_connections", "gauge"},
        {"sluice_server_state", "gauge"},
        {"sluice_upstream_errors_total", "counter"},
        {"sluice_retries_total", "counter"},
        {"sluice_timeouts_total", "counter"},
        {"sluice_busy", "gauge"},
        {"sluice_busy_transitions_total", "counter"},
        {"sluice_client_connections", "gauge"},
        {"sluice_config_reloads_total", "counter"},
    };
    for (const auto& [name, type] : families) {
        EXPECT_NE(body.find("# TYPE " + name + " " + type + "\n"), std::string::npos)
            << "no TYPE line for " << name << " " << type;
        auto sample = type == "histogram" ? name + "_bucket" : name;
        EXPECT_GT(sample_count(body, sample), 0u) << "no sample of " << name;
    }
    EXPECT_EQ(proxy.wait_metric(R"(sluice_queue_rejected_total{backend="app",reason="full"})", 1),
              1);
    EXPECT_EQ(
        proxy.wait_metric(R"(sluice_queue_rejected_total{backend="app",reason="timeout"})", 1), 1);
    EXPECT_EQ(proxy.wait_metric(R"(sluice_timeouts_total{kind="queue"})", 1), 1);
    EXPECT_EQ(proxy.wait_metric(R"(sluice_requests_total{listener="web",backend="app",code="404"})",
                                3),
              3);
}

// When every server of a backend is unreachable, requests queue until timeouts.queue: that needs
// active health checks (the health issue) and is tested with them.

}  // namespace
}  // namespace sluice::test
