// What sluice sends to its servers (SPEC.md "TLS and the PROXY protocol"): TLS verified against
// `ca` and `sni`, a failed verification a 502 whose reason names the problem, pooled
// connections that stay established; and the PROXY header naming the client, on connections
// reused only for that client. The server here is a second sluice, which speaks TLS and reads
// PROXY headers, in front of a scripted app.

#include "integration/polling.hpp"
#include "support/http_client.hpp"
#include "support/proxy_config.hpp"
#include "support/scripted_backend.hpp"
#include "support/sluice_process.hpp"
#include "support/test_certificates.hpp"
#include "support/tls_server.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include <sys/socket.h>

namespace sluice::test {
namespace {

class tls_upstream : public ::testing::Test {
protected:
    tls_upstream()
    {
        ca = write_ca(dir.path(), "ca");
        stranger_ca = write_ca(dir.path(), "stranger");
        site = write_signed(dir.path(), "site", ca, {.names = {"app.internal"}});
    }

    // The server: a TLS listener in front of `to` (the fixture's app by default).
    sluice_process start_server(scripted_backend& to)
    {
        return sluice_process{config_for(to).listener_option(
            "tls: { certificates: [ { cert: " + site.cert + ", key: " + site.key + " } ] }")};
    }
    sluice_process start_server() { return start_server(app); }

    // The front: plain HTTP, its one server `to` with the server options given.
    sluice_process start_front(std::uint16_t to, const std::string& server_options)
    {
        proxy_config cfg;
        cfg.backend("app", {"127.0.0.1:" + std::to_string(to)},
                    {"server_defaults: { " + server_options + " }"});
        return sluice_process{cfg};
    }

    scratch_dir dir;
    pem_files ca, stranger_ca, site;
    scripted_backend app;
};

TEST_F(tls_upstream, verified_tls_to_the_server_with_connections_kept_established)
{
    auto server = start_server();
    auto front = start_front(server.port(), "tls: { ca: " + ca.cert + ", sni: app.internal }");
    connection c{front.port()};
    for (int i = 0; i < 3; ++i) EXPECT_EQ(c.send({.path = "/over-tls"}).status, 200);
    ASSERT_EQ(app.request_count(), 3u);
    const auto log = server.wait_access_log(3);
    ASSERT_EQ(log.size(), 3u);
    EXPECT_EQ(log[0]["tls_version"], "TLSv1.3");
    EXPECT_EQ(log[0]["sni"], "app.internal");
    // One handshake for the three requests: the pooled connection stayed established.
    EXPECT_EQ(
        server.metric(
            R"(sluice_tls_handshakes_total{listener="web",version="TLSv1.3",resumed="false"})"),
        1);
}

// Bodies of many TLS records each way, on one pooled connection: the session reads and writes
// the server's records itself, as it does a TLS client's.
TEST_F(tls_upstream, large_bodies_cross_tls_to_the_server_whole_both_ways)
{
    constexpr std::uint64_t mib = 1024 * 1024;
    scripted_backend big{{.response_size = 3 * mib}};
    auto server = start_server(big);
    auto front = start_front(server.port(), "tls: { ca: " + ca.cert + ", sni: app.internal }");
    connection c{front.port()};
    for (int i = 0; i < 2; ++i) {
        const auto res = c.send({.method = "POST",
                                 .path = "/upload",
                                 .generated_body_size = 2 * mib,
                                 .keep_body = false});
        EXPECT_EQ(res.status, 200);
        EXPECT_EQ(res.body_size, 3 * mib);
        EXPECT_TRUE(res.body_matches_pattern);
    }
    ASSERT_EQ(big.request_count(), 2u);
    for (const auto& r : big.requests()) {
        EXPECT_EQ(r.body_size, 2 * mib);
        EXPECT_TRUE(r.body_matches_pattern);
    }
    EXPECT_EQ(
        server.metric(
            R"(sluice_tls_handshakes_total{listener="web",version="TLSv1.3",resumed="false"})"),
        1);
}

// Upgraded connections to an app behind the server that takes every upgrade and echoes what
// follows its 101; the front reaches the server over TLS.
class tls_upstream_tunnel : public tls_upstream {
protected:
    // A client of the front whose connection is upgraded through both hops.
    std::unique_ptr<connection> upgraded()
    {
        auto c = std::make_unique<connection>(front.port());
        const auto r = c->send(
            {.path = "/ws", .headers = {{"Upgrade", "websocket"}, {"Connection", "Upgrade"}}});
        EXPECT_EQ(r.status, 101) << r.error;
        return r.status == 101 ? std::move(c) : nullptr;
    }

    scripted_backend echo{{.handler = [](const recorded_request&) {
        return reply{.status = 101,
                     .headers = {{"Upgrade", "websocket"}, {"Connection", "Upgrade"}},
                     .echo = true};
    }}};
    sluice_process server = start_server(echo);
    sluice_process front = start_front(server.port(),
                                       "tls: { ca: " + ca.cert + ", sni: app.internal }");
};

// Bytes go both ways through the server's channel, a message of many records included.
TEST_F(tls_upstream_tunnel, a_websocket_tunnels_over_tls_to_the_server)
{
    auto c = upgraded();
    ASSERT_TRUE(c);
    for (const std::string& message : {std::string("ping"), std::string(100'000, 'x')}) {
        ASSERT_TRUE(c->send_raw(message));
        EXPECT_EQ(c->read_at_least(message.size()), message);
    }
}

// The client finishes its side first; what the app sends after that still reaches it through
// both TLS hops (each passes the half-close on as a close_notify and goes on reading).
TEST_F(tls_upstream_tunnel, a_tunnel_half_closed_by_the_client_still_carries_the_answer)
{
    auto c = upgraded();
    ASSERT_TRUE(c);
    ASSERT_TRUE(c->send_raw("last words"));
    ::shutdown(c->stream()->fd(), SHUT_WR);
    EXPECT_EQ(c->read_at_least(10), "last words");
}

// Without pooling every request opens a connection; each after the first resumes the session
// of one before (the server's TLS 1.3 ticket arrives ahead of its response, and the response's
// reads take it in).
TEST_F(tls_upstream, new_connections_to_the_server_resume_its_tls_session)
{
    auto server = start_server();
    proxy_config cfg;
    cfg.backend("app", {"127.0.0.1:" + std::to_string(server.port())},
                {"server_defaults: { tls: { ca: " + ca.cert + ", sni: app.internal } }",
                 "keepalive: { max_idle: 0 }"})
        .top_level("threads: 1");
    sluice_process front{cfg};
    for (int i = 0; i < 3; ++i) EXPECT_EQ(http_get(front.port(), "/").status, 200) << i;
    EXPECT_EQ(server.wait_metric(
                  R"(sluice_tls_handshakes_total{listener="web",version="TLSv1.3",resumed="true"})",
                  2),
              2);
    EXPECT_EQ(
        server.metric(
            R"(sluice_tls_handshakes_total{listener="web",version="TLSv1.3",resumed="false"})"),
        1);
}

TEST_F(tls_upstream, a_certificate_that_fails_verification_is_a_502_naming_why)
{
    auto server = start_server();
    struct row {
        std::string options, reason;
    };
    const row rows[] = {
        {"tls: { ca: " + stranger_ca.cert + ", sni: app.internal }", "tls_unknown_ca"},
        {"tls: { ca: " + ca.cert + ", sni: other.internal }", "tls_wrong_name"},
    };
    for (const auto& r : rows) {
        auto front = start_front(server.port(), r.options);
        const auto res = http_get(front.port(), "/");
        EXPECT_EQ(res.status, 502) << r.reason;
        EXPECT_NE(res.body.find("certificate verify failed"), std::string::npos) << res.body;
        const auto log = front.wait_access_log(1);
        ASSERT_EQ(log.size(), 1u);
        EXPECT_EQ(log[0]["reason"], r.reason);
    }
    EXPECT_EQ(app.request_count(), 0u);
}

// sluice refuses to serve an expired certificate itself, so a bare TLS server serves it here.
TEST_F(tls_upstream, an_expired_server_certificate_is_a_502_that_says_so)
{
    const auto now = std::chrono::system_clock::now();
    const auto expired = write_signed(dir.path(), "expired", ca,
                                      {.names = {"app.internal"},
                                       .not_before = now - std::chrono::days(30),
                                       .not_after = now - std::chrono::days(1)});
    tls_server server{expired};
    auto front = start_front(server.port(), "tls: { ca: " + ca.cert + ", sni: app.internal }");
    const auto res = http_get(front.port(), "/");
    EXPECT_EQ(res.status, 502);
    const auto log = front.wait_access_log(1);
    ASSERT_EQ(log.size(), 1u);
    EXPECT_EQ(log[0]["reason"], "tls_certificate_expired");
    EXPECT_EQ(server.handshakes(), 0u);

    tls_server fresh{site};
    auto trusting = start_front(fresh.port(), "tls: { ca: " + ca.cert + ", sni: app.internal }");
    EXPECT_EQ(http_get(trusting.port(), "/").status, 200);  // the same server, a valid certificate
    EXPECT_EQ(fresh.handshakes(), 1u);
}

// A body the server ends by closing (no length, as HTTP/1.0 servers send): over TLS as over TCP,
// the close ends it, with a close_notify before the FIN or without one (as NGINX takes it).
TEST_F(tls_upstream, a_body_the_server_ends_by_closing_arrives_whole)
{
    const std::string body(50000, 'c');
    for (const bool close_notify : {true, false}) {
        tls_server server{site, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n" + body,
                          close_notify};
        auto front = start_front(server.port(), "tls: { ca: " + ca.cert + ", sni: app.internal }");
        const auto res = http_get(front.port(), "/");
        EXPECT_EQ(res.status, 200) << res.error;
        EXPECT_EQ(res.body.size(), body.size()) << "close_notify " << close_notify;
        const auto log = front.wait_access_log(1);
        ASSERT_EQ(log.size(), 1u);
        EXPECT_EQ(log[0]["reason"], "") << log[0].text();
    }
}

TEST_F(tls_upstream, verify_false_accepts_any_certificate)
{
    auto server = start_server();
    auto front = start_front(server.port(), "tls: { verify: false }");
    EXPECT_EQ(http_get(front.port(), "/").status, 200);
}

// The front is told who the client is by a PROXY header of its own, and tells the server in
// turn; a connection opened for one client never carries another's request.
TEST_F(tls_upstream, the_proxy_header_to_a_server_names_the_client_and_pins_the_connection)
{
    sluice_process server{config_for(app).listener_option("proxy_protocol: v2")};
    proxy_config cfg;
    cfg.backend("app", {"127.0.0.1:" + std::to_string(server.port())},
                {"server_defaults: { proxy_protocol: v2 }"})
        .listener_option("proxy_protocol: v1");
    sluice_process front{cfg};
    const std::string clients[] = {"203.0.113.9", "203.0.113.10", "203.0.113.9", "203.0.113.10"};
    for (const auto& ip : clients) {
        const auto raw = raw_exchange(front.port(), "PROXY TCP4 " + ip +
                                                        " 198.51.100.1 5555 80\r\n"
                                                        "GET /who HTTP/1.1\r\nHost: a\r\n"
                                                        "Connection: close\r\n\r\n");
        EXPECT_EQ(status_of(raw), 200) << raw;
    }
    const auto log = server.wait_access_log(std::size(clients));
    ASSERT_EQ(log.size(), std::size(clients));
    // The server's two threads may write their log lines in either order: compare as sets. A
    // request sent on another client's connection would show that client twice.
    std::multiset<std::string> logged, sent(std::begin(clients), std::end(clients));
    for (const auto& line : log) logged.insert(line["client"]);
    EXPECT_EQ(logged, sent);
    for (std::size_t i = 0; i < std::size(clients); ++i)
        EXPECT_EQ(app.requests().at(i).headers.value("X-Forwarded-For"), clients[i]) << i;
}

// Both at once: the PROXY header goes first, in the clear, then the handshake; health checks
// send a LOCAL header, so the server's listener takes them too.
TEST_F(tls_upstream, the_proxy_header_precedes_tls_and_checks_send_local)
{
    sluice_process server{config_for(app)
                              .listener_option("tls: { certificates: [ { cert: " + site.cert +
                                               ", key: " + site.key + " } ] }")
                              .listener_option("proxy_protocol: v2")};
    proxy_config cfg;
    cfg.backend("app", {"127.0.0.1:" + std::to_string(server.port())},
                {"server_defaults: { proxy_protocol: v2, tls: { ca: " + ca.cert +
                     ", sni: app.internal } }",
                 "health: { http: { path: /health }, interval: 200ms, rise: 1 }"})
        .listener_option("proxy_protocol: v1");
    sluice_process front{cfg};
    EXPECT_EQ(
        front.wait_metric(R"(sluice_server_state{backend="app",server="app1",state="up"})", 1), 1);
    const auto raw = raw_exchange(front.port(),
                                  "PROXY TCP4 203.0.113.9 198.51.100.1 5555 80\r\n"
                                  "GET /who HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(status_of(raw), 200) << raw;
    // The checks' lines come first, and keep coming: wait for the request's own.
    std::optional<json_line> who;
    EXPECT_TRUE(eventually([&] {
        for (const auto& line : server.access_log())
            if (line["path"] == "/who") who = line;
        return who.has_value();
    }));
    ASSERT_TRUE(who);
    EXPECT_EQ((*who)["client"], "203.0.113.9");
    EXPECT_EQ((*who)["tls_version"], "TLSv1.3");
}

// A reload that changes a server's trust stops the reuse of pooled connections opened under the
// old one: the next request makes a new connection, verified against the new `ca`.
TEST_F(tls_upstream, a_reload_of_server_tls_does_not_reuse_connections_of_the_old_trust)
{
    auto server = start_server();
    // One worker thread: pools are per thread, so the second request finds the first's.
    const auto front_config = [&](const std::string& tls) {
        proxy_config cfg;
        cfg.backend("app", {"127.0.0.1:" + std::to_string(server.port())},
                    {"server_defaults: { tls: " + tls + " }"})
            .top_level("threads: 1");
        return cfg;
    };
    sluice_process front{front_config("{ verify: false }")};
    EXPECT_EQ(http_get(front.port(), "/trusting").status, 200);  // its connection is pooled

    const auto stricter = front_config("{ ca: " + stranger_ca.cert + ", sni: app.internal }");
    front.dir().write_config("sluice.yaml", stricter.yaml());
    front.send_signal(SIGHUP);
    ASSERT_EQ(front.wait_metric(R"(sluice_config_reloads_total{result="success"})", 1), 1);

    EXPECT_EQ(http_get(front.port(), "/stricter").status, 502);
    const auto log = front.wait_access_log(2);
    ASSERT_EQ(log.size(), 2u);
    EXPECT_EQ(log[1]["reason"], "tls_unknown_ca");
    EXPECT_EQ(app.request_count(), 1u);
}

}  // namespace
}  // namespace sluice::test
