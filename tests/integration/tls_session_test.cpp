// The session served over TLS in place (net/tls_channel.hpp), with no relay in between: one
// descriptor per connection, pipelined requests that arrive in one record, the 100 Continue, an
// upgraded tunnel, and a slow reader whose response waits at the proxy while the server is free.

#include "support/http_client.hpp"
#include "support/proxy_config.hpp"
#include "support/scripted_backend.hpp"
#include "support/sluice_process.hpp"
#include "support/test_certificates.hpp"
#include "support/tls_client.hpp"

#include <gtest/gtest.h>

#include <openssl/bio.h>
#include <openssl/ssl.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace sluice::test {
namespace {

class tls_session : public ::testing::Test {
protected:
    tls_session()
    {
        ca = write_ca(dir.path(), "ca");
        site = write_signed(dir.path(), "site", ca, {.names = {"localhost"}});
    }

    proxy_config https(proxy_config config) const
    {
        return config.listener_option("tls: { certificates: [ { cert: " + site.cert +
                                      ", key: " + site.key + " } ] }");
    }

    // A connection with its handshake done, or a test failure.
    std::unique_ptr<connection> open(const sluice_process& proxy) const
    {
        auto c = std::make_unique<connection>(proxy.port());
        const auto h = start_tls(*c, {.sni = "localhost", .ca_file = ca.cert});
        EXPECT_TRUE(h.ok) << h.error;
        return c;
    }

    scratch_dir dir;
    pem_files ca, site;
};

// A relay through a socket pair would hold three descriptors per client.
TEST_F(tls_session, a_connection_holds_one_descriptor)
{
    scripted_backend app;
    sluice_process proxy{https(config_for(app))};
    const int before = proxy.fd_count();
    constexpr int clients = 40;
    std::vector<std::unique_ptr<connection>> open_ones;
    for (int i = 0; i < clients; ++i) {
        open_ones.push_back(open(proxy));
        ASSERT_EQ(open_ones.back()->send({}).status, 200);
    }
    const int held = proxy.fd_count() - before;
    EXPECT_GE(held, clients);
    EXPECT_LE(held, clients + 4);  // and the pool's connections to the app
    for (auto& c : open_ones) EXPECT_EQ(c->send({}).status, 200);
}

// Sends each of `requests` as a record of its own, all in one TCP segment: the proxy reads them
// with one recv, and OpenSSL gives back one record per read.
void send_records_at_once(connection& c, const std::vector<std::string>& requests)
{
    SSL* ssl = c.stream()->tls();
    BIO* socket = SSL_get_wbio(ssl);
    BIO* held = BIO_new(BIO_f_buffer());
    ASSERT_NE(held, nullptr);
    BIO_up_ref(socket);  // SSL_set0_wbio frees the one it replaces
    SSL_set0_wbio(ssl, BIO_push(held, socket));
    for (const auto& r : requests) {
        std::size_t written = 0;
        ASSERT_EQ(SSL_write_ex(ssl, r.data(), r.size(), &written), 1);
    }
    ASSERT_EQ(BIO_flush(held), 1);
    BIO_up_ref(socket);
    SSL_set0_wbio(ssl, socket);
}

// The second and third requests wait at the proxy as records not yet decrypted, which no
// socket event announces again.
TEST_F(tls_session, pipelined_requests_in_records_of_one_segment_are_all_answered)
{
    scripted_backend app;
    sluice_process proxy{https(config_for(app))};
    auto c = open(proxy);
    std::vector<std::string> three;
    for (const char* path : {"/1", "/2", "/3"})
        three.push_back(std::string("GET ") + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    for (int round = 0; round < 20; ++round) {
        send_records_at_once(*c, three);
        for (int i = 0; i < 3; ++i) {
            const auto r = c->read_response(false, true, std::chrono::seconds(5));
            ASSERT_EQ(r.status, 200) << "round " << round << ", response " << i << ": " << r.error;
        }
    }
    EXPECT_EQ(app.request_count(), 60u);
}

TEST_F(tls_session, an_expected_continue_is_sent_before_the_body)
{
    scripted_backend app;
    sluice_process proxy{https(config_for(app))};
    auto c = open(proxy);
    const auto r = c->send({.method = "POST", .body = "payload", .expect_continue = true});
    ASSERT_EQ(r.status, 200) << r.error;
    EXPECT_EQ(r.interim, std::vector<int>{100});
    ASSERT_EQ(app.request_count(), 1u);
    EXPECT_EQ(app.requests().at(0).body, "payload");
}

TEST_F(tls_session, an_upgraded_tunnel_carries_bytes_both_ways)
{
    scripted_backend app{{.handler = [](const recorded_request&) {
        return reply{.status = 101,
                     .headers = {{"Upgrade", "websocket"}, {"Connection", "Upgrade"}},
                     .echo = true};
    }}};
    sluice_process proxy{https(config_for(app))};
    auto c = open(proxy);
    const auto r = c->send({.path = "/ws",
                            .headers = {{"Upgrade", "websocket"},
                                        {"Connection", "Upgrade"},
                                        {"Sec-WebSocket-Version", "13"}}});
    ASSERT_EQ(r.status, 101) << r.error;
    for (const std::string& message : {std::string("ping"), std::string(100'000, 'x')}) {
        ASSERT_TRUE(c->send_raw(message));
        EXPECT_EQ(c->read_at_least(message.size()), message);
    }
}

// Response buffering behind TLS: the records the reader does not take wait at the proxy, and the
// one worker answers someone else meanwhile.
TEST_F(tls_session, a_slow_reader_leaves_the_worker_free)
{
    scripted_backend app{{.workers = 1, .response_size = 8 * mib}};
    sluice_process proxy{https(proxy_config{}.backend(
        "app", {app.address()}, {"server_defaults: { max_connections: 1 }"}))};
    connection reader{proxy.port()};
    const int small = 4096;
    setsockopt(reader.stream()->fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    ASSERT_TRUE(start_tls(reader, {.sni = "localhost", .ca_file = ca.cert}).ok);
    ASSERT_TRUE(reader.send_raw("GET /big HTTP/1.1\r\nHost: x\r\n\r\n"));
    const auto head = reader.read_some(std::chrono::seconds(2));
    ASSERT_NE(head.find(" 200 "), std::string::npos);
    auto other = open(proxy);
    const auto r = other->send({.path = "/other", .keep_body = false});
    EXPECT_EQ(r.status, 200) << r.error;
    EXPECT_EQ(r.body_size, 8 * mib);
    EXPECT_TRUE(r.body_matches_pattern);
    const auto log = proxy.wait_access_log(1);
    ASSERT_GE(log.size(), 1u);
    EXPECT_EQ(log[0]["path"], "/other");
}

// The deadline cancels the TCP socket under the channel; the 408 still goes out encrypted, and
// the connection closes.
TEST_F(tls_session, half_a_head_gets_an_encrypted_408_after_client_header)
{
    scripted_backend app;
    sluice_process proxy{https(config_for(app).timeout("client_header", "300ms"))};
    auto c = open(proxy);
    ASSERT_TRUE(c->send_raw("GET /slow HTTP/1.1\r\nHost: x\r\nX-Half: "));
    const auto r = c->read_response(false, true, std::chrono::seconds(5));
    EXPECT_EQ(r.status, 408) << r.error;
    EXPECT_NE(r.body.find("client_timeout"), std::string::npos) << r.body;
    EXPECT_TRUE(c->wait_closed(std::chrono::seconds(5)));
    const auto log = proxy.wait_access_log(1);
    ASSERT_EQ(log.size(), 1u);
    EXPECT_EQ(log[0]["reason"], "client_timeout");
    EXPECT_EQ(log[0]["tls_version"], "TLSv1.3");
    EXPECT_EQ(app.request_count(), 0u);
}

// A queued client that hangs up leaves the queue at once: with its close_notify and FIN, or
// with a FIN alone. Records are bytes on the socket; only what they say ends the wait.
TEST_F(tls_session, a_client_that_hangs_up_while_queued_leaves_the_queue)
{
    scripted_backend app{{.workers = 1, .reply_after = std::chrono::seconds(3)}};
    sluice_process proxy{https(proxy_config{}.backend("app", {app.address()},
                                                      {"server_defaults: { max_connections: 1 }"}))
                             .timeout("queue", "30s")};
    auto busy = open(proxy);
    ASSERT_TRUE(busy->send_raw("GET /slot HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_TRUE(app.wait_for_requests(1));
    const auto start = std::chrono::steady_clock::now();
    for (const bool close_notify : {true, false}) {
        auto quitter = open(proxy);
        ASSERT_TRUE(quitter->send_raw("GET /quitter HTTP/1.1\r\nHost: x\r\n\r\n"));
        std::this_thread::sleep_for(std::chrono::milliseconds(200));  // queued by now
        if (!close_notify) SSL_set_quiet_shutdown(quitter->stream()->tls(), 1);
        quitter->close();
    }
    EXPECT_EQ(
        proxy.wait_metric(R"(sluice_queue_rejected_total{backend="app",reason="client_gone"})", 2),
        2);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(2500))
        << "the queue kept a client that had gone";
    EXPECT_EQ(busy->read_response().status, 200);
    EXPECT_EQ(app.request_count(), 1u) << "the request of a gone client reached the backend";
}

// Counts the application-data records a TLS connection receives.
struct record_count {
    explicit record_count(SSL* ssl) : ssl(ssl)
    {
        SSL_set_msg_callback_arg(ssl, this);
        SSL_set_msg_callback(ssl, [](int write_p, int, int content_type, const void* buf,
                                     std::size_t len, SSL*, void* arg) {
            if (write_p == 0 && content_type == SSL3_RT_INNER_CONTENT_TYPE && len == 1 &&
                *static_cast<const unsigned char*>(buf) == SSL3_RT_APPLICATION_DATA)
                ++static_cast<record_count*>(arg)->received;
        });
    }
    ~record_count() { SSL_set_msg_callback(ssl, nullptr); }
    SSL* ssl;
    int received = 0;
};

// A relayed piece of a chunked response is the head, a size line, the data and a CRLF: one
// record, not four (each costs the client a decryption and 22 bytes).
TEST_F(tls_session, a_small_chunked_response_comes_in_one_or_two_records)
{
    scripted_backend app{{.chunked = true, .response_size = 300}};
    sluice_process proxy{https(config_for(app))};
    auto c = open(proxy);
    ASSERT_EQ(c->send({}).status, 200);  // the session tickets come first, with the first one
    for (int i = 0; i < 5; ++i) {
        record_count records(c->stream()->tls());
        const auto r = c->send({});
        ASSERT_EQ(r.status, 200) << r.error;
        EXPECT_EQ(r.body, pattern_bytes(0, 300));
        EXPECT_GE(records.received, 1);
        EXPECT_LE(records.received, 2) << "the head, size line, data and CRLF went apart";
    }
}

// A resumed TLS 1.2 handshake ends with the client's Finished, which the proxy sends nothing back
// for; a client with Nagle on then holds its request until that is acknowledged: 40 ms on every
// new connection, under the listener's delayed ACKs, unless the proxy acknowledges it at once.
TEST_F(tls_session, a_resumed_tls_1_2_clients_request_is_not_held_up)
{
    scripted_backend app;
    sluice_process proxy{https(config_for(app))};
    tls_options options{.sni = "localhost", .max_version = TLS1_2_VERSION, .ca_file = ca.cert};
    test::tls_session session;
    {
        connection c{proxy.port()};
        ASSERT_TRUE(start_tls(c, options).ok);
        session = session_of(c);
    }
    ASSERT_NE(session, nullptr);
    options.resume = session;
    constexpr int connections = 20;
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < connections; ++i) {
        connection c{proxy.port()};
        const int nagle = 0;
        ::setsockopt(c.stream()->fd(), IPPROTO_TCP, TCP_NODELAY, &nagle, sizeof nagle);
        const auto h = start_tls(c, options);
        ASSERT_TRUE(h.ok) << h.error;
        EXPECT_TRUE(h.resumed);
        EXPECT_EQ(c.send({.path = "/"}).status, 200);
    }
    EXPECT_LT(std::chrono::steady_clock::now() - start, connections * 20ms);
}

}  // namespace
}  // namespace sluice::test
