// The admin endpoints as an operator and a load balancer see them: /livez, /readyz, /status as
// well-formed JSON with each server's in-flight count and slots, and /metrics that promtool
// accepts.

#include "integration/polling.hpp"
#include "support/http_client.hpp"
#include "support/json_value.hpp"
#include "support/proxy_config.hpp"
#include "support/scripted_backend.hpp"
#include "support/sluice_process.hpp"

#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <memory>
#include <thread>

namespace sluice::test {
namespace {

TEST(admin, parse_json_accepts_json_and_refuses_the_rest)
{
    for (std::string_view good :
         {R"({})", R"([])", R"({"a":[1,-2.5e3,"x\"y",true,null,{}]})", " {\"k\" : \"v\"}\n"})
        EXPECT_TRUE(parse_json(good)) << good;
    for (std::string_view bad : {"", "{", R"({"a":1,})", R"({"a" 1})", R"([1 2])", R"({a:1})",
                                 R"("unterminated)", R"({}x)", "[\"tab\there\"]"})
        EXPECT_FALSE(parse_json(bad)) << bad;
}

TEST(admin, livez_and_readyz_answer_200)
{
    scripted_backend app;
    sluice_process proxy{config_for(app)};
    auto live = http_get(proxy.admin_port(), "/livez");
    EXPECT_EQ(live.status, 200) << live.error << live.body;
    auto ready = http_get(proxy.admin_port(), "/readyz");
    EXPECT_EQ(ready.status, 200) << ready.error << ready.body;
    auto healthz = http_get(proxy.admin_port(), "/healthz");
    EXPECT_EQ(healthz.status, 200);
    EXPECT_EQ(healthz.body, "free\n");
}

TEST(admin, status_is_json_with_each_servers_in_flight_and_slots)
{
    std::atomic<bool> release{false};
    scripted_backend app1{{.handler = [&release](const recorded_request&) {
        eventually([&] { return release.load(); });
        return reply{.body = "ok"};
    }}};
    scripted_backend app2;
    sluice_process proxy{proxy_config{}.backend("app", {app1.address(), app2.address()},
                                                {"balance: roundrobin", "queue: { max_length: 7 }",
                                                 "server_defaults: { max_connections: 2 }"})};

    auto status_of_app = [&]() -> std::optional<json> {
        auto r = http_get(proxy.admin_port(), "/status");
        EXPECT_EQ(r.status, 200) << r.error;
        EXPECT_NE(r.headers.value("Content-Type").find("application/json"), std::string::npos);
        auto doc = parse_json(r.body);
        EXPECT_TRUE(doc) << "not JSON: " << r.body;
        return doc;
    };
    auto doc = status_of_app();
    ASSERT_TRUE(doc);
    ASSERT_EQ(doc->type, json::kind::object);
    ASSERT_TRUE(doc->get("signal"));
    EXPECT_EQ(doc->get("signal")->text, "free");
    ASSERT_TRUE(doc->get("listeners"));
    ASSERT_EQ(doc->get("listeners")->items.size(), 1u);
    EXPECT_EQ(doc->get("listeners")->items[0].get("name")->text, "web");
    ASSERT_TRUE(doc->get("backends"));
    ASSERT_EQ(doc->get("backends")->items.size(), 1u);
    const json& backend = doc->get("backends")->items[0];
    EXPECT_EQ(backend.get("name")->text, "app");
    ASSERT_TRUE(backend.get("queue_length"));
    EXPECT_EQ(backend.get("queue_length")->number, 0);
    ASSERT_TRUE(backend.get("queue_max_length"));
    EXPECT_EQ(backend.get("queue_max_length")->number, 7);
    ASSERT_TRUE(backend.get("servers"));
    ASSERT_EQ(backend.get("servers")->items.size(), 2u);
    for (const auto& s : backend.get("servers")->items) {
        for (const char* key : {"name", "address", "state", "in_flight", "max_connections"})
            EXPECT_TRUE(s.get(key)) << "a server without " << key;
        ASSERT_TRUE(s.get("in_flight") && s.get("max_connections"));
        EXPECT_EQ(s.get("in_flight")->type, json::kind::number);
        EXPECT_EQ(s.get("in_flight")->number, 0);
        EXPECT_EQ(s.get("max_connections")->number, 2);
        EXPECT_EQ(s.get("state")->text, "up");
    }
    EXPECT_EQ(backend.get("servers")->items[0].get("name")->text, "app1");
    EXPECT_EQ(backend.get("servers")->items[0].get("address")->text, app1.address());

    // Two requests held at app1 (round robin sends the second one to app2, the third to app1).
    std::vector<std::unique_ptr<connection>> held;
    for (int i = 0; i < 3; ++i) {
        held.push_back(std::make_unique<connection>(proxy.port()));
        held.back()->send_raw("GET /held HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    }
    ASSERT_TRUE(eventually([&] { return app1.request_count() + app2.request_count() == 3; }));
    EXPECT_EQ(app1.request_count(), 2u);
    std::map<std::string, double> in_flight;
    EXPECT_TRUE(eventually([&] {
        auto d = status_of_app();
        if (!d) return false;
        for (const auto& s : d->get("backends")->items[0].get("servers")->items)
            in_flight[s.get("name")->text] = s.get("in_flight")->number;
        return in_flight["app1"] == 2 && in_flight["app2"] == 0;
    })) << "in_flight: app1 "
        << in_flight["app1"] << ", app2 " << in_flight["app2"];

    release = true;
    for (auto& c : held) EXPECT_EQ(c->read_response().status, 200);
    EXPECT_TRUE(eventually([&] {
        auto d = status_of_app();
        return d &&
               d->get("backends")->items[0].get("servers")->items[0].get("in_flight")->number == 0;
    }));
}

// Runs a shell command; its exit status and everything it printed.
std::pair<int, std::string> shell(const std::string& command)
{
    std::string out;
    FILE* p = ::popen((command + " 2>&1").c_str(), "r");
    if (!p) return {-1, "popen failed"};
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
    int status = ::pclose(p);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

bool have_promtool() { return shell("command -v promtool").first == 0; }

TEST(admin, promtool_accepts_the_metrics_after_traffic)
{
    if (!have_promtool() && ::geteuid() == 0)
        shell("DEBIAN_FRONTEND=noninteractive apt-get install -y prometheus");
    if (!have_promtool())
        GTEST_SKIP() << "promtool is not installed (Debian package prometheus) and could not be "
                        "installed here: /metrics was not checked";

    scripted_backend app{{.handler = [](const recorded_request& r) {
        return r.target == "/missing" ? reply{.status = 404} : reply{.body = "ok"};
    }}};
    sluice_process proxy{proxy_config{}.backend("app", {app.address()},
                                                {"queue: { max_length: 1 }",
                                                 "server_defaults: { max_connections: 1 }"})};
    for (int i = 0; i < 5; ++i) EXPECT_EQ(http_get(proxy.port(), "/").status, 200);
    EXPECT_EQ(http_get(proxy.port(), "/missing").status, 404);

    auto metrics = http_get(proxy.admin_port(), "/metrics");
    ASSERT_EQ(metrics.status, 200) << metrics.error;
    EXPECT_NE(metrics.headers.value("Content-Type").find("text/plain"), std::string::npos);
    auto file = proxy.dir().write("metrics.txt", metrics.body);
    auto [code, out] = shell("promtool check metrics < " + file);
    EXPECT_EQ(code, 0) << "promtool check metrics:\n" << out << "\n--- /metrics:\n" << metrics.body;
    EXPECT_EQ(out, "") << "promtool lint findings";
}

}  // namespace
}  // namespace sluice::test
