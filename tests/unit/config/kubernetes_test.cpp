#include "config/kubernetes.hpp"

#include "config/units.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace sluice::config {
namespace {

endpoint at(std::string_view text) { return *parse_endpoint(text).value; }

root config_with(std::vector<std::pair<std::string, std::string>> listeners,
                 std::string_view admin_bind = "0.0.0.0:9090")
{
    root cfg;
    cfg.source = "sluice.yaml";
    for (auto& [name, bind] : listeners) {
        listener l;
        l.name = name;
        l.bind = at(bind);
        cfg.listeners.push_back(l);
    }
    cfg.admin.bind = at(admin_bind);
    cfg.admin.token_file = "admin-token";
    cfg.admin.drain_notice = 10s;
    return cfg;
}

bool has_note(const kubernetes_values& v, std::string_view words)
{
    return std::any_of(v.notes.begin(), v.notes.end(),
                       [&](const auto& n) { return n.find(words) != std::string::npos; });
}

TEST(kubernetes, the_grace_period_covers_drain_notice_and_drain_with_a_margin)
{
    struct row {
        duration notice, drain;
        unsigned drain_seconds;  // notice + drain + 250 ms for the last 503s, rounded up
    };
    for (auto [notice, drain, drain_seconds] :
         {row{0s, 60s, 61}, row{10s, 60s, 71}, row{10s, 29750ms, 40}, row{1500ms, 1s, 3}}) {
        auto cfg = config_with({{"web", "0.0.0.0:8080"}});
        cfg.admin.drain_notice = notice;
        cfg.timeouts.drain = drain;
        const auto v = kubernetes_values_for(cfg);
        EXPECT_EQ(v.drain_seconds, drain_seconds) << notice.count() << " + " << drain.count();
        EXPECT_EQ(v.app_pre_stop_sleep_seconds, drain_seconds);
        EXPECT_EQ(v.termination_grace_period_seconds,
                  drain_seconds + kubernetes_exit_margin_seconds);
    }
}

TEST(kubernetes, each_tcp_listener_has_a_port_then_the_admin_port_has_the_probes)
{
    const auto v = kubernetes_values_for(config_with({{"web", "0.0.0.0:8080"},
                                                      {"Internal_API", "10.0.0.5:8081"},
                                                      {"web-v6", "[::]:8080"},
                                                      {"socket", "unix:/run/sluice.sock"}}));
    ASSERT_EQ(v.ports.size(), 3u);
    EXPECT_EQ(v.ports[0].name, "web");
    EXPECT_EQ(v.ports[0].number, 8080);
    EXPECT_EQ(v.ports[1].name, "internal-api");  // one container port per port number
    EXPECT_EQ(v.ports[1].number, 8081);
    EXPECT_EQ(v.ports[2].name, "admin");
    EXPECT_EQ(v.ports[2].number, 9090);
    ASSERT_TRUE(v.readiness && v.liveness);
    EXPECT_EQ(v.readiness->path, "/readyz");
    EXPECT_EQ(v.readiness->port, 9090);
    EXPECT_EQ(v.liveness->path, "/livez");
    EXPECT_EQ(v.liveness->port, 9090);
    EXPECT_TRUE(has_note(v, "listener socket binds unix:/run/sluice.sock"));
    EXPECT_TRUE(has_note(v, "admin.token_file is admin-token"));
}

TEST(kubernetes, a_listener_named_admin_or_like_another_gets_a_name_from_its_port)
{
    const auto v = kubernetes_values_for(
        config_with({{"admin", "0.0.0.0:80"}, {"ADMIN", "0.0.0.0:81"}}));
    ASSERT_EQ(v.ports.size(), 3u);
    EXPECT_EQ(v.ports[0].name, "http-80");
    EXPECT_EQ(v.ports[1].name, "http-81");
    EXPECT_EQ(v.ports[2].name, "admin");
}

TEST(kubernetes, port_names_follow_the_kubernetes_rules)
{
    struct row {
        std::string_view name, expected;
    };
    for (auto [name, expected] :
         {row{"web", "web"}, row{"Web_Front", "web-front"},
          row{"a-very-long-listener-name", "a-very-long-lis"},
          row{"abcdefghijklmn-z", "abcdefghijklmn"}, row{"--x--", "x"}, row{"a..b", "a-b"},
          row{"8080", "fallback"}, row{"", "fallback"}, row{"_-_", "fallback"}})
        EXPECT_EQ(kubernetes_port_name(name, "fallback"), expected) << name;
}

TEST(kubernetes, what_the_kubelet_cannot_reach_is_a_note)
{
    const auto loopback = kubernetes_values_for(
        config_with({{"web", "127.0.0.1:8080"}}, "127.0.0.1:9090"));
    EXPECT_TRUE(has_note(loopback, "listener web binds 127.0.0.1:8080"));
    EXPECT_TRUE(has_note(loopback, "admin.bind is 127.0.0.1:9090: the kubelet's probes"));
    EXPECT_TRUE(loopback.readiness);  // right once the bind is; the note says how

    const auto unix_admin = kubernetes_values_for(
        config_with({{"web", "0.0.0.0:8080"}}, "unix:/run/sluice-admin.sock"));
    EXPECT_FALSE(unix_admin.readiness || unix_admin.liveness);
    EXPECT_EQ(unix_admin.ports.size(), 1u);
    EXPECT_TRUE(has_note(unix_admin, "cannot reach a unix socket"));
}

TEST(kubernetes, no_drain_notice_is_a_note_since_endpoints_update_after_sigterm)
{
    auto cfg = config_with({{"web", "0.0.0.0:8080"}});
    EXPECT_FALSE(has_note(kubernetes_values_for(cfg), "admin.drain_notice is 0s"));
    cfg.admin.drain_notice = 0s;
    EXPECT_TRUE(has_note(kubernetes_values_for(cfg), "admin.drain_notice is 0s"));
}

TEST(kubernetes, the_yaml_holds_every_value_and_the_notes_as_comments)
{
    const auto cfg = config_with({{"web", "0.0.0.0:8080"}});
    const auto text = format_kubernetes(cfg, kubernetes_values_for(cfg));
    for (auto line : {"terminationGracePeriodSeconds: 76\n", "containers:\n", "  - name: sluice\n",
                      "      - { name: web, containerPort: 8080, protocol: TCP }\n",
                      "      - { name: admin, containerPort: 9090, protocol: TCP }\n",
                      "    readinessProbe:\n      httpGet: { path: /readyz, port: 9090 }\n"
                      "      periodSeconds: 5\n",
                      "    livenessProbe:\n      httpGet: { path: /livez, port: 9090 }\n",
                      "  - name: app\n    lifecycle:\n      preStop:\n"
                      "        exec: { command: [sleep, \"71\"] }\n",
                      "# note: admin.token_file is admin-token"})
        EXPECT_NE(text.find(line), std::string::npos) << line << "\nin:\n" << text;
    for (std::size_t start = 0, end; start < text.size(); start = end + 1) {
        end = text.find('\n', start);
        EXPECT_LE(end - start, 100u) << text.substr(start, end - start);
    }
}

}  // namespace
}  // namespace sluice::config
