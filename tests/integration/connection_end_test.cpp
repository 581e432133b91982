// A response that ends its connection (the client asked for Connection: close) is followed at once
// by sluice's end of the stream: the body whole, then a FIN (behind TLS, a close_notify first),
// never a reset, while the client still holds its socket open. Small bodies (written whole),
// spliced ones, and ones a slow client takes from response buffering's backlog all end so. An
// answer that comes before the request's end (a 413) lets the client finish sending, as NGINX's
// lingering close does, so a client that reads only after writing its body still reads it.

#include "support/http_client.hpp"
#include "support/proxy_config.hpp"
#include "support/scripted_backend.hpp"
#include "support/sluice_process.hpp"
#include "support/test_certificates.hpp"
#include "support/tls_client.hpp"
#include "support/wire.hpp"

#include <gtest/gtest.h>

#include <openssl/ssl.h>

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <thread>

namespace sluice::test {
namespace {

const header_list closing{{"Connection", "close"}};

// How the stream ended after the response: "fin" for an orderly end of stream, else what came.
std::string end_of_stream(connection& c)
{
    auto* s = c.stream();
    if (!s) return "no stream";
    pollfd p{s->fd(), POLLIN, 0};
    if (::poll(&p, 1, 5000) != 1) return "nothing within 5 s";
    char byte;
    if (auto* ssl = s->tls()) {
        const int n = SSL_read(ssl, &byte, 1);
        if (n > 0) return "more bytes";
        return SSL_get_error(ssl, n) == SSL_ERROR_ZERO_RETURN ? "fin" : "no close_notify";
    }
    const auto n = ::recv(s->fd(), &byte, 1, 0);
    if (n > 0) return "more bytes";
    return n == 0 ? "fin" : std::string("error: ") + std::strerror(errno);
}

void expect_whole_then_fin(connection& c, const response& r, std::uint64_t size)
{
    ASSERT_EQ(r.status, 200) << r.error;
    EXPECT_EQ(r.body_size, size);
    EXPECT_TRUE(r.body_matches_pattern);
    EXPECT_EQ(r.headers.value("Connection"), "close");
    EXPECT_EQ(end_of_stream(c), "fin");
}

TEST(connection_end, a_small_response_is_followed_by_the_proxys_fin)
{
    scripted_backend app{{.response_size = 100}};
    sluice_process proxy{config_for(app)};
    for (int i = 0; i < 3; ++i) {
        connection c{proxy.port()};
        const auto r = c.send({.path = "/small", .headers = closing});
        expect_whole_then_fin(c, r, 100);
    }
}

TEST(connection_end, a_spliced_response_is_followed_by_the_proxys_fin)
{
    scripted_backend app{{.response_size = 3 * mib + 7}};
    sluice_process proxy{config_for(app)};
    connection c{proxy.port()};
    const auto r = c.send({.path = "/large", .headers = closing, .keep_body = false});
    expect_whole_then_fin(c, r, 3 * mib + 7);
}

// The backlog goes out before the end: a FIN sent with the relay's last read, not its last
// write, would cut the body short.
TEST(connection_end, a_slow_client_gets_the_whole_backlog_before_the_fin)
{
    scripted_backend app{{.workers = 1, .response_size = 3 * mib + 7}};
    sluice_process proxy{proxy_config{}.backend("app", {app.address()},
                                                {"server_defaults: { max_connections: 1 }"})};
    connection c{proxy.port()};
    ASSERT_TRUE(c.send_raw("GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    std::this_thread::sleep_for(500ms);  // the app has sent it all; sluice holds what is unread
    const auto r = c.read_response(false, false);
    expect_whole_then_fin(c, r, 3 * mib + 7);
}

TEST(connection_end, behind_tls_the_close_notify_and_fin_follow_the_response)
{
    scratch_dir dir;
    const auto ca = write_ca(dir.path(), "ca");
    const auto site = write_signed(dir.path(), "site", ca, {.names = {"localhost"}});
    scripted_backend app{{.response_size = 100}};
    sluice_process proxy{config_for(app).listener_option(
        "tls: { certificates: [ { cert: " + site.cert + ", key: " + site.key + " } ] }")};
    connection c{proxy.port()};
    const auto h = start_tls(c, {.sni = "localhost", .ca_file = ca.cert});
    ASSERT_TRUE(h.ok) << h.error;
    const auto r = c.send({.path = "/tls", .headers = closing});
    expect_whole_then_fin(c, r, 100);
}

// A request sent behind one that ends the connection (pipelining past a Connection: close) is
// not answered; but closing with it unread would reset the connection, and what the socket had
// yet to send of the large response before it would be lost.
TEST(connection_end, a_request_sent_behind_a_close_does_not_cut_the_large_response_before_it)
{
    scripted_backend app{{.response_size = 16 * mib}};
    sluice_process proxy{config_for(app)};
    connection c{proxy.port()};
    ASSERT_TRUE(c.send_raw("GET /large HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    std::this_thread::sleep_for(300ms);  // the response fills the sockets' buffers meanwhile
    ASSERT_TRUE(c.send_raw("GET /next HTTP/1.1\r\nHost: x\r\n\r\n"));
    const auto r = c.read_response(false, false);
    expect_whole_then_fin(c, r, 16 * mib);
    EXPECT_EQ(app.request_count(), 1u);
}

const std::string open_connections = R"(sluice_client_connections{listener="web"})";

// The way Python's http.client posts: the whole body, then read the answer. Closed at once with the
// body unread, the proxy's socket would send a reset, and this write would fail.
TEST(connection_end, a_client_that_writes_its_whole_body_before_reading_gets_its_413)
{
    scripted_backend app;
    sluice_process proxy{config_for(app).limits("{ max_body: 1m }")};
    for (int i = 0; i < 2; ++i) {
        connection c{proxy.port()};
        const std::uint64_t size = 16 * mib;
        ASSERT_TRUE(c.send_raw("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                               std::to_string(size) + "\r\n\r\n"));
        EXPECT_TRUE(c.send_raw(std::string(size, 'u'))) << "the body's write failed";
        const auto r = c.read_response();
        EXPECT_EQ(r.status, 413) << r.error;
        EXPECT_EQ(end_of_stream(c), "fin");
    }
    EXPECT_EQ(app.request_count(), 0u);
    // Each lingering connection ended with its client's close, not after a timeout.
    EXPECT_EQ(proxy.wait_metric(open_connections, 0, 2s), 0);
}

// A client too slow for its head is let go at its 408, not waited for (up to 5 s) while it
// holds its socket open.
TEST(connection_end, a_408_is_not_followed_by_a_lingering_wait)
{
    scripted_backend app;
    sluice_process proxy{config_for(app).timeout("client_header", "300ms")};
    connection c{proxy.port()};
    ASSERT_TRUE(c.send_raw("POST /slow HTTP/1.1\r\nHost: x\r\nX-Half: "));
    const auto r = c.read_response(false, true, 5s);
    EXPECT_EQ(r.status, 408) << r.error;
    EXPECT_EQ(proxy.wait_metric(open_connections, 0, 2s), 0);
}

}  // namespace
}  // namespace sluice::test
