// SIGHUP reload as an operator sees it (issue 7): a broken file changes nothing and says why, a
// good one applies to new requests while in-flight ones finish on the old config, traffic goes
// on without a lost request or a refused connection, servers that stay keep their slots,
// listeners that stay keep their socket, and what needs a restart is said in the log.

#include "integration/polling.hpp"
#include "support/http_client.hpp"
#include "support/proxy_config.hpp"
#include "support/scripted_backend.hpp"
#include "support/sluice_process.hpp"

#include <signal.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

namespace sluice::test {
namespace {

std::size_t occurrences(const std::string& text, const std::string& needle)
{
    std::size_t n = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
    return n;
}

enum class outcome { reloaded, failed, silent };

// Writes `yaml` over the running proxy's config file, sends SIGHUP and waits for the log line
// that ends this reload.
outcome reload(const sluice_process& proxy, const std::string& yaml)
{
    const auto err = proxy.stderr_text();
    const auto ok_before = occurrences(err, "reloaded ");
    const auto failed_before = occurrences(err, "reload failed");
    proxy.dir().write_config("sluice.yaml", yaml);
    proxy.send_signal(SIGHUP);
    auto result = outcome::silent;
    eventually([&] {
        const auto now = proxy.stderr_text();
        if (occurrences(now, "reloaded ") > ok_before)
            result = outcome::reloaded;
        else if (occurrences(now, "reload failed") > failed_before)
            result = outcome::failed;
        return result != outcome::silent;
    });
    return result;
}

// A backend that answers with its own name as the body; "/slow" waits until `release` is set
// (at most 10 s, so a failing test still ends).
backend_options named(const std::string& name, const std::atomic<bool>& release)
{
    return {.handler = [name, &release](const recorded_request& r) {
        if (r.target == "/slow") eventually([&] { return release.load(); });
        return reply{.body = name};
    }};
}

// Field `key` of the first /status object named `name` (a backend or a server); -1 when absent.
long status_field(const sluice_process& proxy, const std::string& name, const std::string& key)
{
    constexpr auto none = std::string::npos;
    const auto body = http_get(proxy.admin_port(), "/status").body;
    const auto object = body.find("{\"name\":\"" + name + "\"");
    const auto field = object == none ? none : body.find("\"" + key + "\":", object);
    return field == none ? -1 : std::stol(body.substr(field + key.size() + 3));
}

std::string replaced(std::string text, const std::string& from, const std::string& to)
{
    auto at = text.find(from);
    if (at != std::string::npos) text.replace(at, from.size(), to);
    return text;
}

TEST(reload, a_broken_file_keeps_the_old_config_and_says_where)
{
    scripted_backend app;
    auto cfg = config_for(app);
    sluice_process proxy{cfg};
    ASSERT_EQ(http_get(proxy.port()).status, 200);

    const auto good = cfg.yaml();
    const auto bad_line = occurrences(good, "\n") + 1;
    ASSERT_EQ(reload(proxy, good + "thread: 1\n"), outcome::failed) << proxy.stderr_text();
    const auto where = proxy.config_path() + ":" + std::to_string(bad_line) + ":1: thread";
    const auto err = proxy.stderr_text();
    EXPECT_LT(err.find(where), err.find("reload failed; still serving the previous config"))
        << "no '" << where << "' before the failure line in:\n"
        << err;
    EXPECT_EQ(proxy.wait_metric(R"(sluice_config_reloads_total{result="error"})", 1), 1);
    EXPECT_EQ(http_get(proxy.port()).status, 200);
    EXPECT_TRUE(proxy.running());

    ASSERT_EQ(reload(proxy, cfg.timeout("queue", "5s").yaml()), outcome::reloaded)
        << proxy.stderr_text();
    EXPECT_NE(proxy.stderr_text().find("reloaded " + proxy.config_path()), std::string::npos);
    EXPECT_EQ(proxy.wait_metric(R"(sluice_config_reloads_total{result="success"})", 1), 1);
    EXPECT_EQ(proxy.wait_metric(R"(sluice_config_reloads_total{result="error"})", 1), 1);
    EXPECT_EQ(http_get(proxy.port()).status, 200);
}

TEST(reload, a_new_default_backend_takes_new_requests_while_the_old_one_finishes)
{
    std::atomic<bool> release{false};
    scripted_backend blue{named("blue", release)}, green{named("green", release)};
    auto cfg = proxy_config{}.backend("blue", {blue.address()}).backend("green", {green.address()});
    sluice_process proxy{cfg};

    connection slow{proxy.port()};
    ASSERT_TRUE(slow.send_raw("GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    ASSERT_TRUE(blue.wait_for_requests(1));
    ASSERT_EQ(reload(proxy, cfg.default_backend("green").yaml()), outcome::reloaded)
        << proxy.stderr_text();

    auto fresh = http_get(proxy.port());
    EXPECT_EQ(fresh.status, 200) << fresh.error;
    EXPECT_EQ(fresh.body, "green");
    release = true;
    auto finished = slow.read_response();
    EXPECT_EQ(finished.status, 200) << finished.error;
    EXPECT_EQ(finished.body, "blue");
    auto next = slow.send({});  // a new request on the old connection: the new config
    EXPECT_EQ(next.status, 200) << next.error;
    EXPECT_EQ(next.body, "green");
    EXPECT_EQ(blue.request_count(), 1u);
}

// Sequential requests until `stop`, alternating runs of keep-alive requests and one request per
// connection; every answer that is not a 200 from a backend is kept in `failures`.
class client_loop {
public:
    client_loop(std::uint16_t port, const std::atomic<bool>& stop) : port_{port}, stop_{stop} {}

    void run()
    {
        for (int round = 0; !stop_; ++round) {
            if (round % 2) {
                check(http_get(port_, "/new"));
                continue;
            }
            connection kept{port_};
            for (int i = 0; i < 5 && !stop_; ++i) {
                auto r = kept.send({.path = "/kept"});
                check(r);
                if (r.status != 200 || iequals(r.headers.value("Connection"), "close")) break;
            }
        }
    }

    std::size_t done() const { return done_.load(); }
    std::vector<std::string> failures() const
    {
        std::lock_guard lock{mutex_};
        return failures_;
    }

private:
    void check(const response& r)
    {
        ++done_;
        if (r.status == 200 && r.body.rfind("server ", 0) == 0) return;
        std::lock_guard lock{mutex_};
        if (failures_.size() < 10)
            failures_.push_back(std::to_string(r.status) + " " + r.error + " " + r.body);
    }

    std::uint16_t port_;
    const std::atomic<bool>& stop_;
    std::atomic<std::size_t> done_{0};
    mutable std::mutex mutex_;
    std::vector<std::string> failures_;
};

TEST(reload, ten_reloads_under_continuous_traffic_lose_nothing)
{
    scripted_backend one{{.body = "server one"}}, two{{.body = "server two"}};
    auto both = proxy_config{}.backend("app", {one.address(), two.address()});
    auto only_two = proxy_config{}.backend("app", {two.address()}).timeout("queue", "5s");
    sluice_process proxy{both};

    std::atomic<bool> stop{false};
    std::vector<std::unique_ptr<client_loop>> loops;
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i) {
        loops.push_back(std::make_unique<client_loop>(proxy.port(), stop));
        threads.emplace_back([&loop = *loops.back()] { loop.run(); });
    }
    auto total = [&] {
        std::size_t n = 0;
        for (const auto& l : loops) n += l->done();
        return n;
    };
    for (int i = 0; i < 10; ++i) {
        const auto before = total();
        EXPECT_TRUE(eventually([&] { return total() >= before + 100; })) << "traffic stalled";
        EXPECT_EQ(reload(proxy, (i % 2 ? both : only_two).yaml()), outcome::reloaded)
            << "reload " << i << "\n"
            << proxy.stderr_text();
    }
    const auto before = total();
    EXPECT_TRUE(eventually([&] { return total() >= before + 100; })) << "traffic stalled";
    stop = true;
    for (auto& t : threads) t.join();

    for (const auto& l : loops)
        for (const auto& f : l->failures())
            ADD_FAILURE() << "a request did not get a 200 from a backend: " << f;
    EXPECT_GE(total(), 1000u);
    EXPECT_EQ(proxy.wait_metric(R"(sluice_config_reloads_total{result="success"})", 10), 10);
    EXPECT_GT(one.request_count(), 0u);
    EXPECT_GT(two.request_count(), 0u);
}

TEST(reload, a_server_that_keeps_its_name_keeps_its_slot_and_in_flight_request)
{
    std::atomic<bool> release{false};
    scripted_backend app{named("app", release)};
    auto cfg = proxy_config{}.backend("app", {app.address()},
                                      {"server_defaults: { max_connections: 1 }"});
    sluice_process proxy{cfg};

    connection first{proxy.port()};
    ASSERT_TRUE(first.send_raw("GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    ASSERT_TRUE(app.wait_for_requests(1));
    ASSERT_TRUE(eventually([&] { return status_field(proxy, "app1", "in_flight") == 1; }));
    ASSERT_EQ(reload(proxy, cfg.timeout("queue", "20s").yaml()), outcome::reloaded)
        << proxy.stderr_text();

    connection second{proxy.port()};
    ASSERT_TRUE(second.send_raw("GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    long queued = -1, in_flight = -1;
    EXPECT_TRUE(eventually([&] {
        queued = status_field(proxy, "app", "queue_length");
        in_flight = status_field(proxy, "app1", "in_flight");
        return queued == 1 && in_flight == 1;
    })) << "queue_length "
        << queued << ", in_flight " << in_flight;
    EXPECT_EQ(app.request_count(), 1u) << "the reload gave the server a second slot";

    release = true;
    EXPECT_EQ(first.read_response().status, 200);
    EXPECT_EQ(second.read_response().status, 200);
    EXPECT_TRUE(eventually([&] { return status_field(proxy, "app1", "in_flight") == 0; }));
}

// The reload renames the backend or keeps it: either its server or the whole backend leaves,
// and with it the pooled connection (closed by the thread that owns it).
class pooled_after_reload : public ::testing::TestWithParam<const char*> {};

TEST_P(pooled_after_reload, connections_to_a_server_that_left_are_closed)
{
    scripted_backend gone{{.keepalive_timeout = 30s}}, stays;
    const std::vector<std::string> pool{"keepalive: { idle_timeout: 20s }",
                                        "server_defaults: { keepalive_timeout: 30s }"};
    sluice_process proxy{proxy_config{}.backend("app", {gone.address()}, pool)};
    ASSERT_EQ(http_get(proxy.port()).status, 200);
    ASSERT_EQ(gone.open_connections(), 1u);

    ASSERT_EQ(reload(proxy, proxy_config{}.backend(GetParam(), {stays.address()}, pool).yaml()),
              outcome::reloaded)
        << proxy.stderr_text();
    EXPECT_TRUE(eventually([&] { return gone.open_connections() == 0; }, 5s))
        << "the pooled connection to the removed server is still open";
    EXPECT_EQ(http_get(proxy.port()).status, 200);
    EXPECT_EQ(stays.request_count(), 1u);
}

INSTANTIATE_TEST_SUITE_P(reload, pooled_after_reload, ::testing::Values("app", "renamed"));

TEST(reload, a_changed_thread_count_is_said_to_need_a_restart)
{
    scripted_backend app;
    auto cfg = config_for(app);
    sluice_process proxy{cfg};
    reload(proxy, replaced(cfg.yaml(), "threads: 2", "threads: 1"));
    EXPECT_TRUE(proxy.wait_stderr("reload: `threads` changed; it takes effect after a restart"))
        << proxy.stderr_text();
    EXPECT_EQ(http_get(proxy.port()).status, 200);
}

TEST(reload, a_listener_that_stays_keeps_its_socket_and_a_new_one_listens)
{
    scripted_backend app;
    auto cfg = config_for(app);
    sluice_process proxy{cfg};
    const auto port = proxy.port("web");
    connection idle{port};
    ASSERT_EQ(idle.send({}).status, 200);

    const auto extra = "  - name: extra\n    bind: 127.0.0.1:0\n    default_backend: app\n";
    ASSERT_EQ(reload(proxy,
                     replaced(cfg.yaml(), "timeouts:\n", extra + std::string("timeouts:\n"))),
              outcome::reloaded)
        << proxy.stderr_text();
    EXPECT_EQ(occurrences(proxy.stderr_text(), "listener web listening on"), 1u)
        << "web was bound again:\n"
        << proxy.stderr_text();
    EXPECT_EQ(http_get(port).status, 200);
    auto again = idle.send({});
    EXPECT_EQ(again.status, 200) << "a keep-alive connection opened before the reload: "
                                 << again.error;
    auto added = http_get(proxy.port("extra"));
    EXPECT_EQ(added.status, 200) << added.error;
}

}  // namespace
}  // namespace sluice::test
