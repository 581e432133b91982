// Large response bodies between plain sockets pass through a pipe (splice(2)) and never enter the
// proxy, unless `splice: off`. Each test runs on both paths: every byte arrives in order, the
// connections stay usable, and stalls and failures on either side end as they do for any body.

#include "support/http_client.hpp"
#include "support/loopback.hpp"
#include "support/proxy_config.hpp"
#include "support/scripted_backend.hpp"
#include "support/sluice_process.hpp"
#include "support/wire.hpp"

#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <thread>

namespace sluice::test {
namespace {

class splice : public ::testing::TestWithParam<const char*> {
protected:
    // `cfg` with this run's splice setting.
    proxy_config config(proxy_config cfg) const
    {
        return cfg.top_level(std::string("splice: ") + GetParam());
    }
    proxy_config config(const scripted_backend& app) const { return config(config_for(app)); }
    bool spliced() const { return std::string_view(GetParam()) == "auto"; }
};

INSTANTIATE_TEST_SUITE_P(both_paths, splice, ::testing::Values("auto", "off"));

std::uint64_t logged_bytes_out(const json_line& line)
{
    return std::stoull("0" + line["bytes_out"]);
}

TEST_P(splice, large_responses_arrive_whole_and_both_connections_are_reused)
{
    scripted_backend app{{.response_size = 3 * mib + 5}};
    sluice_process proxy{config(app)};
    connection client{proxy.port()};
    for (int i = 0; i < 3; ++i) {
        auto r = client.send({.path = "/big", .keep_body = false});
        ASSERT_EQ(r.status, 200) << r.error;
        EXPECT_EQ(r.body_size, 3 * mib + 5);
        EXPECT_TRUE(r.body_matches_pattern);
    }
    EXPECT_EQ(app.connections_accepted(), 1u);
    auto log = proxy.wait_access_log(3);
    ASSERT_EQ(log.size(), 3u);
    EXPECT_GT(logged_bytes_out(log[2]), 3 * mib) << log[2].text();
    if (spliced())
        EXPECT_TRUE(proxy.wait_stderr("splice: large bodies")) << proxy.stderr_text();
    else
        EXPECT_EQ(proxy.stderr_text().find("splice:"), std::string::npos) << proxy.stderr_text();
}

// More than the sockets' buffers hold, to a client that reads nothing for a while: the relay waits
// for the client, then goes on.
TEST_P(splice, a_client_that_pauses_gets_every_byte)
{
    scripted_backend app{{.response_size = 24 * mib}};
    sluice_process proxy{config(app)};
    connection client{proxy.port()};
    ASSERT_TRUE(client.send_raw("GET /big HTTP/1.1\r\nHost: x\r\n\r\n"));
    std::this_thread::sleep_for(1500ms);
    auto r = client.read_response(false, false);
    ASSERT_EQ(r.status, 200) << r.error;
    EXPECT_EQ(r.body_size, 24 * mib);
    EXPECT_TRUE(r.body_matches_pattern);
}

void send_all(int fd, const std::string& bytes)
{
    EXPECT_EQ(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL), ssize_t(bytes.size()));
}

// Response buffering with a one-worker app: a client that keeps up gets large bodies whole, and
// one that reads nothing holds no worker, as without splice (buffering_test.cpp). With splice
// on, the first moves through a pipe and the second leaves it half-way.
TEST_P(splice, under_response_buffering_a_stalled_reader_frees_the_worker_and_others_get_it)
{
    scripted_backend app{{.workers = 1, .response_size = 8 * mib}};
    sluice_process proxy{config(proxy_config{}.backend(
        "app", {app.address()}, {"server_defaults: { max_connections: 1 }"}))};
    byte_stream reader{connect_loopback(proxy.port(), 4096)};
    ASSERT_GE(reader.fd(), 0);
    ASSERT_TRUE(reader.write_all("GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    connection other{proxy.port()};
    for (int i = 0; i < 2; ++i) {
        auto r = other.send({.path = "/other", .keep_body = false});
        ASSERT_EQ(r.status, 200) << r.error;
        EXPECT_EQ(r.body_size, 8 * mib);
        EXPECT_TRUE(r.body_matches_pattern);
    }
    auto log = proxy.wait_access_log(2);
    ASSERT_EQ(log.size(), 2u) << proxy.stderr_text();
    EXPECT_EQ(log[0]["path"], "/other");
    std::string head;
    ASSERT_EQ(reader.read_head(head, 10s), byte_stream::status::ok);
    EXPECT_EQ(head.substr(0, head.find("\r\n")), "HTTP/1.1 200 OK");
    pattern_checker body;
    EXPECT_EQ(reader.read_until_close([&](std::string_view piece) { body.feed(piece); }, 10s),
              byte_stream::status::ok);
    ASSERT_EQ(body.size(), 8 * mib);
    EXPECT_TRUE(body.ok()) << "the stalled reader's body is not the app's";
}

TEST_P(splice, a_server_that_stops_mid_body_ends_the_clients_response_and_is_logged)
{
    scripted_backend app{{.raw_reply = "HTTP/1.1 200 OK\r\nContent-Length: 4194304\r\n\r\n" +
                                       pattern_bytes(0, 300 * 1024)}};
    sluice_process proxy{config(app)};
    auto r = request(proxy.port(), {.path = "/cut", .keep_body = false});
    EXPECT_EQ(r.status, 200);
    EXPECT_NE(r.error, "");
    EXPECT_LT(r.body_size, 4 * mib);
    auto log = proxy.wait_access_log(1);
    ASSERT_EQ(log.size(), 1u) << proxy.stderr_text();
    EXPECT_EQ(log[0]["reason"], "server_reset") << log[0].text();
}

// One connection's server side, scripted: reads the request head, then hands the socket to `reply`,
// then waits until the proxy closes (or the test ends) before it closes.
class raw_server {
public:
    explicit raw_server(std::function<void(int)> reply)
        : reply_(std::move(reply)), fd_(listen_loopback(port_))
    {
        thread_ = std::thread([this] { serve(); });
    }
    ~raw_server()
    {
        ::shutdown(fd_, SHUT_RDWR);
        thread_.join();
        ::close(fd_);
    }
    std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

private:
    void serve()
    {
        const int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        char buf[4096];
        for (std::string head; head.find("\r\n\r\n") == std::string::npos;) {
            const auto n = ::read(c, buf, sizeof buf);
            if (n <= 0) break;
            head.append(buf, std::size_t(n));
        }
        reply_(c);
        ::read(c, buf, sizeof buf);  // until the proxy gives up, or the test ends
        ::close(c);
    }
    std::function<void(int)> reply_;
    std::uint16_t port_ = 0;
    int fd_ = -1;
    std::thread thread_;
};

TEST_P(splice, a_server_that_stalls_mid_body_is_given_up_after_the_server_timeout)
{
    raw_server server{[](int c) {
        send_all(c, "HTTP/1.1 200 OK\r\nContent-Length: 4194304\r\n\r\n" +
                        pattern_bytes(0, 200 * 1024));
    }};
    proxy_config cfg;
    cfg.backend("app", {server.address()}).default_backend("app").timeout("server", "400ms");
    sluice_process proxy{config(cfg)};
    auto r = request(proxy.port(), {.path = "/stall", .keep_body = false});
    EXPECT_EQ(r.status, 200);
    EXPECT_NE(r.error, "");
    EXPECT_EQ(r.body_size, 200 * 1024u);
    auto log = proxy.wait_access_log(1);
    ASSERT_EQ(log.size(), 1u) << proxy.stderr_text();
    EXPECT_EQ(log[0]["reason"], "server_timeout") << log[0].text();
}

TEST_P(splice, a_client_that_stops_reading_is_given_up_after_client_send)
{
    scripted_backend app{{.response_size = 64 * mib}};
    sluice_process proxy{config(app).timeout("client_send", "500ms")};
    connection client{proxy.port()};
    ASSERT_TRUE(client.send_raw("GET /big HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto log = proxy.wait_access_log(1);
    ASSERT_EQ(log.size(), 1u) << proxy.stderr_text();
    EXPECT_EQ(log[0]["status"], "499") << log[0].text();
    EXPECT_EQ(log[0]["reason"], "client_gone") << log[0].text();
    EXPECT_LT(logged_bytes_out(log[0]), 64 * mib) << log[0].text();
}

}  // namespace
}  // namespace sluice::test
