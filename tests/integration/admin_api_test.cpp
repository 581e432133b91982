// The admin API as an operator uses it during a deploy (issue 16): drain a server, watch it take
// no new requests, put it back; weights; reloads that answer what changed or where the file is
// wrong; API states that hold across reloads; and the token rules that keep it closed.

#include "integration/polling.hpp"
#include "support/http_client.hpp"
#include "support/json_value.hpp"
#include "support/proxy_config.hpp"
#include "support/scripted_backend.hpp"
#include "support/sluice_process.hpp"

#include <signal.h>

#include <algorithm>

#include <gtest/gtest.h>

namespace sluice::test {
namespace {

response post(const sluice_process& proxy, const std::string& path, const std::string& body,
              header_list headers = {})
{
    return request(proxy.admin_port(),
                   {.method = "POST", .path = path, .headers = headers, .body = body});
}

// The object of server `name` in /status, or a null json.
json server_status(const sluice_process& proxy, const std::string& name)
{
    const auto doc = parse_json(http_get(proxy.admin_port(), "/status").body);
    if (!doc) return {};
    for (const auto& b : doc->get("backends")->items)
        for (const auto& s : b.get("servers")->items)
            if (s.get("name")->text == name) return s;
    return {};
}

std::string field(const json& j, const std::string& key)
{
    const auto* f = j.get(key);
    if (!f) return "<absent>";
    return f->type == json::kind::number ? std::to_string(f->number) : f->text;
}

// "admin:\n  bind: 127.0.0.1:0\n" of proxy_config, replaced by `admin_block`.
std::string with_admin(const proxy_config& cfg, const std::string& admin_block)
{
    auto yaml = cfg.yaml();
    const std::string standard = "admin:\n  bind: 127.0.0.1:0\n";
    yaml.replace(yaml.find(standard), standard.size(), admin_block);
    return yaml;
}

// Who served each of `n` requests (the scripted backends' X-Served-By).
std::vector<std::string> served_by(const sluice_process& proxy, int n)
{
    std::vector<std::string> by;
    for (int i = 0; i < n; ++i)
        by.push_back(http_get(proxy.port(), "/").headers.get("X-Served-By").value_or("?"));
    return by;
}

bool only(const std::vector<std::string>& by, const std::string& name)
{
    return std::ranges::all_of(by, [&](const std::string& s) { return s == name; });
}

struct admin_api : ::testing::Test {
    scripted_backend app1{{.name = "app1"}};
    scripted_backend app2{{.name = "app2"}};
    proxy_config cfg = config_for({&app1, &app2}).backend("spare", {app1.address()});
    sluice_process proxy{cfg};
};

TEST_F(admin_api, drain_takes_a_server_out_until_ready_and_each_change_is_logged_with_the_peer)
{
    auto r = post(proxy, "/servers/app/app1/state", "drain");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.headers.get("Content-Type"), "application/json");
    const auto answer = parse_json(r.body);
    ASSERT_TRUE(answer) << r.body;
    EXPECT_EQ(field(*answer, "state"), "busy");
    EXPECT_EQ(field(*answer, "state_set_by"), "api");
    EXPECT_EQ(field(*answer, "api_override"), "drain");
    EXPECT_TRUE(only(served_by(proxy, 6), "app2"));
    EXPECT_TRUE(proxy.wait_stderr("admin API: 127.0.0.1:"));
    EXPECT_TRUE(proxy.wait_stderr(" set app/app1 state drain: up -> busy"));

    r = post(proxy, "/servers/app/app1/state", "maint\n");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(field(server_status(proxy, "app1"), "state"), "maint");
    r = post(proxy, "/servers/app/app1/state", "ready");
    ASSERT_EQ(r.status, 200) << r.body;
    const auto back = server_status(proxy, "app1");
    EXPECT_EQ(field(back, "state"), "up");
    EXPECT_EQ(field(back, "state_set_by"), "check");
    EXPECT_EQ(back.get("api_override")->type, json::kind::null);
    const auto by = served_by(proxy, 6);
    EXPECT_NE(std::ranges::count(by, "app1"), 0);
    EXPECT_TRUE(proxy.wait_stderr(" set app/app1 state ready: maint -> up"));
}

TEST_F(admin_api, weights_scale_or_replace_and_zero_percent_drains)
{
    auto r = post(proxy, "/servers/app/app2/weight", "3");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(field(*parse_json(r.body), "effective_weight"), std::to_string(3.0));
    r = post(proxy, "/servers/app/app2/weight", "50%");
    EXPECT_EQ(field(*parse_json(r.body), "effective_weight"), std::to_string(0.5));
    r = post(proxy, "/servers/app/app2/weight", "0%");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(field(*parse_json(r.body), "state"), "busy");
    EXPECT_TRUE(only(served_by(proxy, 4), "app1"));
    r = post(proxy, "/servers/app/app2/state", "ready");  // lifts a drain by weight too
    EXPECT_EQ(field(*parse_json(r.body), "state"), "up");
    EXPECT_EQ(field(*parse_json(r.body), "effective_weight"), std::to_string(1.0));
}

TEST_F(admin_api, wrong_names_bodies_methods_and_paths_are_refused_in_json)
{
    struct row {
        std::string method, path, body;
        int status;
        std::string says;
    };
    const row rows[] = {
        {"POST", "/servers/nope/app1/state", "drain", 404, "no backend is named \"nope\""},
        {"POST", "/servers/app/nope/state", "drain", 404, "has no server named \"nope\""},
        {"POST", "/servers/app/app1/state", "sleep", 400, "expected ready, drain or maint"},
        {"POST", "/servers/app/app1/weight", "heavy", 400, "0% drains"},
        {"POST", "/servers/app/app1/weight", std::string(600, '1'), 413, "over 512 bytes"},
        {"PUT", "/servers/app/app1/state", "drain", 405, "use POST"},
        {"DELETE", "/reload", "", 405, "use POST"},
        {"POST", "/status", "", 405, "use GET, HEAD"},
        {"POST", "/servers/app/app1/colour", "red", 404, "no such admin API endpoint"},
        {"GET", "/nowhere", "", 404, "no such admin endpoint"},
    };
    for (const auto& r : rows) {
        auto res = request(proxy.admin_port(),
                           {.method = r.method, .path = r.path, .body = r.body});
        EXPECT_EQ(res.status, r.status) << r.method << " " << r.path << ": " << res.body;
        EXPECT_EQ(res.headers.get("Content-Type"), "application/json") << r.path;
        const auto doc = parse_json(res.body);
        ASSERT_TRUE(doc && doc->get("error")) << res.body;
        EXPECT_NE(doc->get("error")->text.find(r.says), std::string::npos) << res.body;
    }
    EXPECT_EQ(field(server_status(proxy, "app1"), "state"), "up");  // nothing changed
}

TEST_F(admin_api, an_api_state_survives_reloads_for_a_server_that_keeps_its_name)
{
    ASSERT_EQ(post(proxy, "/servers/app/app1/state", "drain").status, 200);
    ASSERT_EQ(post(proxy, "/servers/app/app2/weight", "50%").status, 200);
    scripted_backend app3{{.name = "app3"}};
    // app1 moves to another address (a new record), app3 joins, SIGHUP and POST /reload alike.
    auto moved = config_for({&app3, &app2, &app1}).backend("spare", {app1.address()});
    proxy.dir().write_config("sluice.yaml", moved.yaml());
    auto r = post(proxy, "/reload", "");
    ASSERT_EQ(r.status, 200) << r.body;
    const auto answer = parse_json(r.body);
    ASSERT_TRUE(answer) << r.body;
    EXPECT_EQ(field(*answer, "reloaded"), "true");
    std::string changes;
    for (const auto& c : answer->get("changes")->items) changes += c.text + "\n";
    EXPECT_NE(changes.find("backend app: server app3 added"), std::string::npos) << changes;
    EXPECT_NE(changes.find("backend app: server app1: address"), std::string::npos) << changes;
    EXPECT_TRUE(proxy.wait_stderr("(admin API from 127.0.0.1:"));

    const auto app1_after = server_status(proxy, "app1");
    EXPECT_EQ(field(app1_after, "state"), "busy");
    EXPECT_EQ(field(app1_after, "state_set_by"), "api");
    EXPECT_EQ(field(server_status(proxy, "app2"), "api_override"), "50%");
    proxy.send_signal(SIGHUP);
    EXPECT_TRUE(proxy.wait_stderr("(SIGHUP): no change"));
    EXPECT_EQ(field(server_status(proxy, "app1"), "state_set_by"), "api");
    const auto by = served_by(proxy, 8);
    EXPECT_EQ(std::ranges::count(by, "app3"), 0);  // the server named app1 is app3 now
}

TEST_F(admin_api, reload_of_a_broken_file_answers_400_with_file_line_column_and_keeps_serving)
{
    auto broken = cfg.yaml() + "    colour: red\n";
    proxy.dir().write_config("sluice.yaml", broken);
    auto r = post(proxy, "/reload", "");
    EXPECT_EQ(r.status, 400) << r.body;
    const auto answer = parse_json(r.body);
    ASSERT_TRUE(answer) << r.body;
    EXPECT_EQ(field(*answer, "reloaded"), "false");
    ASSERT_FALSE(answer->get("errors")->items.empty());
    const auto& error = answer->get("errors")->items.front().text;
    EXPECT_NE(error.find(proxy.config_path() + ":"), std::string::npos) << error;
    EXPECT_NE(error.find("colour: unknown key"), std::string::npos) << error;
    EXPECT_TRUE(proxy.wait_stderr("reload failed; still serving the previous config (admin API"));
    EXPECT_EQ(http_get(proxy.port(), "/").status, 200);
    EXPECT_EQ(proxy.wait_metric(R"(sluice_config_reloads_total{result="error"})", 1), 1);
}

TEST(admin_api_token, every_post_needs_the_bearer_token_which_a_reload_rereads)
{
    scripted_backend app;
    temp_dir tokens;
    const auto token_path = tokens.write("token", "  first-token\n");
    auto yaml = with_admin(config_for(app),
                           "admin:\n  bind: 127.0.0.1:0\n  token_file: " + token_path + "\n");
    sluice_process proxy{yaml};
    EXPECT_EQ(post(proxy, "/servers/app/app1/state", "drain").status, 401);
    EXPECT_EQ(post(proxy, "/servers/app/app1/state", "drain",
                   {{"Authorization", "Bearer wrong-token"}})
                  .status,
              401);
    EXPECT_EQ(post(proxy, "/reload", "", {{"Authorization", "Bearer first-tokenX"}}).status, 401);
    EXPECT_TRUE(proxy.wait_stderr("POST /servers/app/app1/state refused (401)"));
    EXPECT_EQ(field(server_status(proxy, "app1"), "state"), "up");
    EXPECT_EQ(http_get(proxy.admin_port(), "/status").status, 200);  // GET stays open
    EXPECT_EQ(http_get(proxy.admin_port(), "/metrics").status, 200);
    EXPECT_EQ(field(*parse_json(http_get(proxy.admin_port(), "/status").body), "admin_post"),
              "token");
    EXPECT_EQ(http_get(proxy.admin_port(), "/status").body.find("first-token"), std::string::npos);

    const header_list first{{"Authorization", "Bearer first-token"}};
    EXPECT_EQ(post(proxy, "/servers/app/app1/state", "drain", first).status, 200);
    tokens.write("token", "second-token");
    EXPECT_EQ(post(proxy, "/reload", "", first).status, 200);
    EXPECT_EQ(post(proxy, "/servers/app/app1/state", "ready", first).status, 401);
    EXPECT_EQ(post(proxy, "/servers/app/app1/state", "ready",
                   {{"Authorization", "Bearer second-token"}})
                  .status,
              200);
    EXPECT_EQ(proxy.stderr_text().find("first-token"), std::string::npos);
}

TEST(admin_api_token, without_a_token_a_bind_open_to_the_network_refuses_posts_and_check_fails)
{
    scripted_backend app;
    const auto yaml = with_admin(config_for(app), "admin:\n  bind: 0.0.0.0:0\n");
    sluice_process proxy{yaml};
    auto r = post(proxy, "/servers/app/app1/state", "drain");
    EXPECT_EQ(r.status, 403) << r.body;
    EXPECT_NE(r.body.find("admin.token_file is not set"), std::string::npos) << r.body;
    EXPECT_EQ(field(server_status(proxy, "app1"), "state"), "up");
    EXPECT_EQ(http_get(proxy.admin_port(), "/healthz").status, 200);
    EXPECT_TRUE(proxy.wait_stderr("admin.bind: 0.0.0.0:0 is reachable from other machines"));

    const auto check = run_sluice({"check", "-c", proxy.config_path()});
    EXPECT_EQ(check.exit_code, 1) << check.out << check.err;
    EXPECT_NE((check.out + check.err).find("admin.bind: 0.0.0.0:0 is reachable"), std::string::npos)
        << check.out << check.err;
}

TEST(admin_api_setter, status_says_a_check_set_a_down_state)
{
    scripted_backend app;
    auto cfg = config_for(app).backend(
        "dead", {"127.0.0.1:1"}, {"health: { interval: 100ms, timeout: 50ms, fall: 1, rise: 1 }"});
    sluice_process proxy{cfg};
    EXPECT_TRUE(
        eventually([&] { return field(server_status(proxy, "dead1"), "state") == "down"; }));
    const auto dead = server_status(proxy, "dead1");
    EXPECT_EQ(field(dead, "state_set_by"), "check");
    EXPECT_EQ(dead.get("last_check_age_s")->type, json::kind::number);
    EXPECT_LT(dead.get("last_check_age_s")->number, 5.0);
    EXPECT_EQ(field(dead, "source"), "static");
}

}  // namespace
}  // namespace sluice::test
