// A TLS listener (SPEC.md "TLS and the PROXY protocol"): certificates picked by SNI, the minimum
// version, resumption, plain HTTP answered with a 400 that says so, broken handshakes closing
// only their connection, a PROXY header before the handshake, and certificates re-read on SIGHUP
// while an established connection keeps its own. Certificates are made at test time.

#include "support/http_client.hpp"
#include "support/proxy_config.hpp"
#include "support/scripted_backend.hpp"
#include "support/sluice_process.hpp"
#include "support/test_certificates.hpp"
#include "support/tls_client.hpp"

#include <gtest/gtest.h>

#include <openssl/ssl.h>

#include <csignal>
#include <filesystem>
#include <string>
#include <thread>

#include <sys/socket.h>

namespace sluice::test {
namespace {

class tls_listener : public ::testing::Test {
protected:
    tls_listener()
    {
        ca = write_ca(dir.path(), "ca");
        site = write_signed(dir.path(), "site", ca, {.names = {"localhost", "a.test"}});
        other = write_signed(dir.path(), "other", ca, {.names = {"*.b.test"}});
    }

    // The listener's tls block: site first (the default), other by SNI.
    std::string tls_block(const std::string& extra = "") const
    {
        return "tls: { certificates: [ { cert: " + site.cert + ", key: " + site.key +
               " }, { cert: " + other.cert + ", key: " + other.key + " } ]" + extra + " }";
    }

    tls_options client(const std::string& sni = "a.test") const
    {
        return {.sni = sni, .ca_file = ca.cert};
    }

    scratch_dir dir;
    pem_files ca, site, other;
    scripted_backend app;
};

TEST_F(tls_listener, serves_https_with_the_certificate_the_client_names)
{
    sluice_process proxy{config_for(app).listener_option(tls_block())};
    struct row {
        std::string sni, name;
    };
    // The first name of the certificate that came back: site's is localhost.
    for (const auto& r : {row{"a.test", "localhost"}, row{"x.b.test", "*.b.test"},
                          row{"", "localhost"}, row{"unknown.test", "localhost"}}) {
        connection c{proxy.port()};
        const auto h = start_tls(c, client(r.sni));
        ASSERT_TRUE(h.ok) << r.sni << ": " << h.error;
        EXPECT_EQ(h.version, "TLSv1.3");
        EXPECT_EQ(h.alpn, "http/1.1");
        ASSERT_FALSE(h.peer_names.empty());
        EXPECT_EQ(h.peer_names.front(), r.name) << r.sni;
        EXPECT_EQ(c.send({.path = "/tls"}).status, 200);
    }
    ASSERT_EQ(app.request_count(), 4u);
    EXPECT_EQ(app.requests().at(0).headers.value("X-Forwarded-Proto"), "https");
    const auto log = proxy.wait_access_log(4);
    ASSERT_EQ(log.size(), 4u);
    EXPECT_EQ(log[0]["tls_version"], "TLSv1.3");
    EXPECT_EQ(log[0]["sni"], "a.test");
    EXPECT_EQ(log[0]["client"], "127.0.0.1");
    EXPECT_EQ(
        proxy.metric(
            R"(sluice_tls_handshakes_total{listener="web",version="TLSv1.3",resumed="false"})"),
        4);
    EXPECT_GT(proxy
                  .metric(R"(sluice_tls_certificate_expiry_timestamp_seconds{listener="web",)"
                          R"(certificate=")" +
                          site.cert + "\"}")
                  .value_or(0),
              1.7e9);
}

// An HTTP/1.1 listener serves an HTTP/1.0 client that offers only http/1.0 (curl -0), and gives
// a client that offers both HTTP/1.1.
TEST_F(tls_listener, a_client_offering_only_http_1_0_is_served)
{
    sluice_process proxy{config_for(app).listener_option(tls_block())};
    connection c{proxy.port()};
    auto options = client();
    options.alpn = {"http/1.0"};
    const auto h = start_tls(c, options);
    ASSERT_TRUE(h.ok) << h.error;
    EXPECT_EQ(h.alpn, "http/1.0");
    ASSERT_TRUE(c.send_raw("GET /old HTTP/1.0\r\nHost: a.test\r\n\r\n"));
    const auto r = c.read_response();
    EXPECT_EQ(r.status, 200) << r.error;
    connection both{proxy.port()};
    options.alpn = {"http/1.0", "http/1.1"};
    const auto h2 = start_tls(both, options);
    ASSERT_TRUE(h2.ok) << h2.error;
    EXPECT_EQ(h2.alpn, "http/1.1");
}

TEST_F(tls_listener, a_returning_client_resumes_its_session)
{
    sluice_process proxy{config_for(app).listener_option(tls_block())};
    tls_session session;
    {
        connection c{proxy.port()};
        ASSERT_TRUE(start_tls(c, client()).ok);
        EXPECT_EQ(c.send({.path = "/first"}).status, 200);  // the ticket comes after the handshake
        session = session_of(c);
    }
    ASSERT_NE(session, nullptr);
    connection again{proxy.port()};
    auto opts = client();
    opts.resume = session;
    const auto h = start_tls(again, opts);
    ASSERT_TRUE(h.ok) << h.error;
    EXPECT_TRUE(h.resumed);
    EXPECT_EQ(again.send({.path = "/again"}).status, 200);
    EXPECT_EQ(
        proxy.metric(
            R"(sluice_tls_handshakes_total{listener="web",version="TLSv1.3",resumed="true"})"),
        1);
}

// A TLS 1.3 client uses each ticket once (RFC 8446, C.4): each resumption must bring a new
// one, or every other connection of a returning client is a full handshake.
TEST_F(tls_listener, each_resumption_brings_a_new_ticket)
{
    sluice_process proxy{config_for(app).listener_option(tls_block())};
    tls_session session;
    for (int i = 0; i < 3; ++i) {
        connection c{proxy.port()};
        auto opts = client();
        opts.resume = session;
        const auto h = start_tls(c, opts);
        ASSERT_TRUE(h.ok) << h.error;
        EXPECT_EQ(h.resumed, i > 0) << "connection " << i;
        EXPECT_EQ(c.send({.path = "/"}).status, 200);
        const auto next = session_of(c);
        ASSERT_NE(next, nullptr);
        EXPECT_NE(next, session) << "no new ticket on connection " << i;
        session = next;
    }
    EXPECT_EQ(
        proxy.metric(
            R"(sluice_tls_handshakes_total{listener="web",version="TLSv1.3",resumed="true"})"),
        2);
}

// Guards for net/tls_transport: a short read takes the socket for empty until epoll reports
// it again, so bytes that arrive while a record is read, decrypted or relayed must not be missed.
// Each round sends a request cut into two records, 0-175 us apart, and a second request right
// behind; both are answered in order, with no wait for a timeout.
TEST_F(tls_listener, requests_in_records_that_arrive_apart_are_all_answered)
{
    sluice_process proxy{config_for(app).listener_option(tls_block())};
    connection c{proxy.port()};
    ASSERT_TRUE(start_tls(c, client()).ok);
    const auto request = [](char name, int i) {
        return "GET /" + std::string(1, name) + std::to_string(i) +
               " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    };
    for (int i = 0; i < 200; ++i) {
        const auto first = request('a', i);
        const auto cut = 1 + static_cast<std::size_t>(i) % (first.size() - 1);
        ASSERT_TRUE(c.send_raw(first.substr(0, cut)));
        std::this_thread::sleep_for(std::chrono::microseconds(25 * (i % 8)));
        ASSERT_TRUE(c.send_raw(first.substr(cut)));
        ASSERT_TRUE(c.send_raw(request('b', i)));
        for (const char* which : {"first", "second"}) {
            const auto r = c.read_response(false, true, std::chrono::seconds(5));
            ASSERT_EQ(r.status, 200) << "round " << i << ", " << which << ": " << r.error;
        }
    }
    EXPECT_EQ(app.request_count(), 400u);
}

// Records cut across reads both ways: a 3 MiB upload and a 3 MiB download arrive whole.
TEST_F(tls_listener, large_bodies_cross_many_records_both_ways)
{
    scripted_backend big{
        {.handler = [](const recorded_request&) { return reply{.generated_size = 3 << 20}; }}};
    sluice_process proxy{config_for(big).listener_option(tls_block())};
    connection c{proxy.port()};
    ASSERT_TRUE(start_tls(c, client()).ok);
    const auto r = c.send({.method = "POST", .generated_body_size = 3 << 20, .keep_body = false});
    ASSERT_EQ(r.status, 200) << r.error;
    EXPECT_EQ(r.body_size, 3u << 20);
    EXPECT_TRUE(r.body_matches_pattern);
    ASSERT_EQ(big.request_count(), 1u);
    EXPECT_EQ(big.requests().at(0).body_size, 3u << 20);
    EXPECT_TRUE(big.requests().at(0).body_matches_pattern);
}

// A FIN right behind a request's record is not taken for an empty socket: the request is
// answered and the connection closed at once.
TEST_F(tls_listener, a_fin_right_behind_a_request_is_answered_and_closed_at_once)
{
    sluice_process proxy{config_for(app).listener_option(tls_block())};
    connection c{proxy.port()};
    ASSERT_TRUE(start_tls(c, client()).ok);
    for (int i = 0; i < 3; ++i) ASSERT_EQ(c.send({}).status, 200);
    ASSERT_TRUE(c.send_raw("GET /last HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    // Having sent its FIN, the client must write no alert (SIGPIPE): neither the close_notify
    // nor one for the connection closing without sluice's (the peer left first, so none comes).
    SSL_set_quiet_shutdown(c.stream()->tls(), 1);
    SSL_set_options(c.stream()->tls(), SSL_OP_IGNORE_UNEXPECTED_EOF);
    ::shutdown(c.stream()->fd(), SHUT_WR);
    EXPECT_EQ(c.read_response().status, 200);
    const auto answered = std::chrono::steady_clock::now();
    EXPECT_TRUE(c.wait_closed(std::chrono::seconds(5)));
    EXPECT_LT(std::chrono::steady_clock::now() - answered, std::chrono::milliseconds(500));
}

TEST_F(tls_listener, tls_1_3_only_refuses_a_tls_1_2_client)
{
    sluice_process proxy{config_for(app).listener_option(tls_block(", min_version: \"1.3\""))};
    connection old_client{proxy.port()};
    auto opts = client();
    opts.max_version = TLS1_2_VERSION;
    EXPECT_FALSE(start_tls(old_client, opts).ok);
    connection new_client{proxy.port()};
    EXPECT_TRUE(start_tls(new_client, client()).ok);
    EXPECT_EQ(proxy.wait_metric(
                  R"(sluice_tls_handshake_errors_total{listener="web",reason="protocol_version"})",
                  1),
              1);
    EXPECT_TRUE(proxy.wait_stderr("reason: protocol_version"));
}

TEST_F(tls_listener, plain_http_gets_a_plain_400_that_says_the_port_speaks_https)
{
    sluice_process proxy{config_for(app).listener_option(tls_block())};
    const auto raw = raw_exchange(proxy.port(),
                                  "GET /plain HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(status_of(raw), 400) << raw;
    EXPECT_NE(raw.find("speaks HTTPS"), std::string::npos) << raw;
    const auto log = proxy.wait_access_log(1);
    ASSERT_EQ(log.size(), 1u);
    EXPECT_EQ(log[0]["reason"], "plain_http_on_tls");
    EXPECT_EQ(log[0]["path"], "/plain");
    EXPECT_EQ(app.request_count(), 0u);
}

// Garbage, a handshake cut off and a client that never finishes: each closes its own
// connection, within timeouts.client_header for the stalled one, while others are served.
TEST_F(tls_listener, broken_handshakes_close_only_their_own_connection)
{
    sluice_process proxy{
        config_for(app).listener_option(tls_block()).timeout("client_header", "500ms")};
    const auto bad_record = raw_exchange(proxy.port(),
                                         std::string("\x16\x03\x01\x00\x05hello", 10));
    EXPECT_EQ(bad_record.find("HTTP/"), std::string::npos);  // at most a TLS alert, then closed
    EXPECT_EQ(raw_exchange(proxy.port(), "\x01\x02\x03 not tls"), "");
    connection stalled{proxy.port()};
    ASSERT_TRUE(stalled.send_raw(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11)));
    connection good{proxy.port()};
    ASSERT_TRUE(start_tls(good, client()).ok);
    EXPECT_EQ(good.send({.path = "/ok"}).status, 200);
    EXPECT_TRUE(stalled.wait_closed(std::chrono::seconds(5)));
    EXPECT_EQ(proxy.wait_metric(
                  R"(sluice_tls_handshake_errors_total{listener="web",reason="timeout"})", 1),
              1);
    EXPECT_GE(proxy.metric(R"(sluice_tls_handshake_errors_total{listener="web",reason="not_tls"})")
                  .value_or(0),
              1);
    EXPECT_EQ(app.request_count(), 1u);
}

TEST_F(tls_listener, a_proxy_header_comes_before_the_handshake)
{
    sluice_process proxy{
        config_for(app).listener_option(tls_block()).listener_option("proxy_protocol: any")};
    const std::string v2_local("\r\n\r\n\0\r\nQUIT\n\x20\x00\x00\x00", 16);
    struct row {
        std::string header, client;
    };
    const row rows[] = {
        {"PROXY TCP4 203.0.113.9 198.51.100.1 5555 443\r\n", "203.0.113.9"},
        {"PROXY TCP6 2001:db8::7 ::1 5555 443\r\n", "2001:db8::7"},
        {v2_local, "127.0.0.1"},
    };
    for (std::size_t i = 0; i < std::size(rows); ++i) {
        connection c{proxy.port()};
        ASSERT_TRUE(c.send_raw(rows[i].header));
        const auto h = start_tls(c, client());
        ASSERT_TRUE(h.ok) << h.error;
        EXPECT_EQ(c.send({.path = "/who"}).status, 200);
        const auto log = proxy.wait_access_log(i + 1);
        ASSERT_EQ(log.size(), i + 1);
        EXPECT_EQ(log[i]["client"], rows[i].client);
        EXPECT_EQ(app.requests().at(i).headers.value("X-Forwarded-For"), rows[i].client);
    }
    // A handshake where the header should be: closed, and nothing reaches the app.
    connection no_header{proxy.port()};
    EXPECT_FALSE(start_tls(no_header, client()).ok);
    EXPECT_TRUE(proxy.wait_stderr("bad_proxy_header"));
    EXPECT_EQ(app.request_count(), std::size(rows));
}

// certbot renews the files and its deploy hook sends SIGHUP: new handshakes get the new
// certificate, a connection made before keeps working.
TEST_F(tls_listener, sighup_rereads_certificates_and_old_connections_keep_theirs)
{
    sluice_process proxy{config_for(app).listener_option(tls_block())};
    connection before{proxy.port()};
    const auto first = start_tls(before, client());
    ASSERT_TRUE(first.ok) << first.error;
    EXPECT_EQ(before.send({.path = "/before"}).status, 200);

    write_signed(dir.path(), "site", ca, {.names = {"localhost", "a.test", "renewed.test"}});
    proxy.send_signal(SIGHUP);
    ASSERT_EQ(proxy.wait_metric(R"(sluice_config_reloads_total{result="success"})", 1), 1);

    connection after{proxy.port()};
    const auto renewed = start_tls(after, client());
    ASSERT_TRUE(renewed.ok) << renewed.error;
    ASSERT_FALSE(renewed.peer_names.empty());
    EXPECT_EQ(renewed.peer_names.back(), "renewed.test");
    EXPECT_EQ(after.send({.path = "/after"}).status, 200);
    EXPECT_EQ(before.send({.path = "/still"}).status, 200);
}

// A key that does not match its certificate: the reload is refused and the old one serves on.
TEST_F(tls_listener, a_broken_certificate_at_reload_keeps_the_old_one)
{
    sluice_process proxy{config_for(app).listener_option(tls_block())};
    std::filesystem::copy_file(other.key, site.key,
                               std::filesystem::copy_options::overwrite_existing);
    proxy.send_signal(SIGHUP);
    EXPECT_EQ(proxy.wait_metric(R"(sluice_config_reloads_total{result="error"})", 1), 1);
    EXPECT_TRUE(proxy.wait_stderr(site.key));
    connection c{proxy.port()};
    ASSERT_TRUE(start_tls(c, client()).ok);
    EXPECT_EQ(c.send({.path = "/"}).status, 200);
}

}  // namespace
}  // namespace sluice::test
