// Each timeout of the chain as a client sees it: the status, the log reason, how soon, and what
// happens to the connections on either side.

#include "support/http_client.hpp"
#include "support/proxy_config.hpp"
#include "support/scripted_backend.hpp"
#include "support/sluice_process.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <thread>

namespace sluice::test {
namespace {

using steady = std::chrono::steady_clock;

// A 127.0.0.1 port nothing listens on: bound, then closed.
std::uint16_t closed_port()
{
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
}

millis since(steady::time_point start)
{
    return std::chrono::duration_cast<millis>(steady::now() - start);
}

class slowloris : public ::testing::Test {
protected:
    scripted_backend app;
    sluice_process proxy{
        config_for(app).timeout("client_header", "300ms").timeout("client_idle", "2s")};
    connection slow{proxy.port()};
};

TEST_F(slowloris, half_a_head_gets_408_after_client_header)
{
    auto start = steady::now();
    ASSERT_TRUE(slow.send_raw("GET /slow HTTP/1.1\r\nHost: x\r\nX-Half: "));
    auto r = slow.read_response(false, true, 5s);
    EXPECT_EQ(r.status, 408) << r.error;
    EXPECT_TRUE(slow.wait_closed(5s));
    EXPECT_GE(since(start), 250ms);
    EXPECT_LT(since(start), 3s);
    auto log = proxy.wait_access_log(1);
    ASSERT_EQ(log.size(), 1u) << proxy.stderr_text();
    EXPECT_EQ(log[0]["reason"], "client_timeout") << log[0].text();
    EXPECT_EQ(app.request_count(), 0u);
}

TEST_F(slowloris, trickling_a_byte_at_a_time_still_times_out)
{
    auto start = steady::now();
    ASSERT_TRUE(slow.send_raw("GET / HTTP/1.1\r\n"));
    // One header byte every 50 ms: the deadline is for the whole head, not for each read.
    std::string answer;
    while (answer.empty() && !slow.peer_closed() && since(start) < 3s) {
        slow.send_raw("X");
        answer = slow.read_some(50ms);
    }
    EXPECT_EQ(status_of(answer), 408) << answer;
    EXPECT_LT(since(start), 2s) << "the head kept the connection alive byte by byte";
}

// After `requests` requests: one waits in the light wait, more in the hot one.
class idle_client : public ::testing::TestWithParam<int> {};

TEST_P(idle_client, keep_alive_connection_is_closed_after_client_idle)
{
    scripted_backend app;
    sluice_process proxy{
        config_for(app).timeout("client_header", "200ms").timeout("client_idle", "400ms")};
    connection client{proxy.port()};
    for (int i = 0; i < GetParam(); ++i) ASSERT_EQ(client.send({}).status, 200);
    auto start = steady::now();
    EXPECT_TRUE(client.wait_closed(5s));
    EXPECT_GE(since(start), 300ms);
    EXPECT_LT(since(start), 3s);
}

INSTANTIATE_TEST_SUITE_P(timeouts, idle_client, ::testing::Values(1, 2));

// A connection that has served more than one request waits for the next with a read for up to a
// second, then falls back to the light wait: neither may stretch client_idle, and a request
// after the switch is served on the same connection.
TEST(timeouts, connection_in_steady_use_keeps_client_idle_across_the_switch_to_the_light_wait)
{
    scripted_backend app;
    sluice_process proxy{config_for(app).timeout("client_idle", "2s")};
    connection reused{proxy.port()};
    ASSERT_EQ(reused.send({}).status, 200);
    ASSERT_EQ(reused.send({}).status, 200);
    std::this_thread::sleep_for(1300ms);
    EXPECT_EQ(reused.send({}).status, 200) << "the request after the switch";

    connection idle{proxy.port()};
    ASSERT_EQ(idle.send({}).status, 200);
    ASSERT_EQ(idle.send({}).status, 200);
    auto start = steady::now();
    EXPECT_TRUE(idle.wait_closed(5s));
    EXPECT_GE(since(start), 1500ms);
    EXPECT_LT(since(start), 2900ms) << "the hot wait's second was added to client_idle";
}

TEST(timeouts, connect_to_a_closed_port_answers_502)
{
    proxy_config cfg;
    cfg.backend("app", {"127.0.0.1:" + std::to_string(closed_port())}).timeout("connect", "300ms");
    sluice_process proxy{cfg};
    auto start = steady::now();
    auto r = http_get(proxy.port(), "/");
    EXPECT_EQ(r.status, 502) << r.error;
    EXPECT_LT(since(start), 3s);
    auto log = proxy.wait_access_log(1);
    ASSERT_EQ(log.size(), 1u) << proxy.stderr_text();
    auto reason = log[0]["reason"];
    EXPECT_TRUE(reason == "connect_failure" || reason == "connect_timeout") << log[0].text();
}

TEST(timeouts, slow_backend_gets_504_after_server_and_its_connection_closed)
{
    scripted_backend app{{.reply_after = 5s}};
    sluice_process proxy{config_for(app).timeout("server", "300ms")};
    auto start = steady::now();
    auto r = http_get(proxy.port(), "/slow");
    EXPECT_EQ(r.status, 504) << r.error;
    EXPECT_GE(since(start), 250ms);
    EXPECT_LT(since(start), 3s);
    auto log = proxy.wait_access_log(1);
    ASSERT_EQ(log.size(), 1u) << proxy.stderr_text();
    EXPECT_EQ(log[0]["reason"], "server_timeout") << log[0].text();
    while (app.abandoned_requests() == 0 && since(start) < 4s) std::this_thread::sleep_for(10ms);
    EXPECT_EQ(app.abandoned_requests(), 1u) << "the backend connection stayed open";
}

TEST(timeouts, listener_max_connections_holds_further_clients_until_one_closes)
{
    scripted_backend app;
    sluice_process proxy{config_for(app).listener_option("max_connections: 2")};
    auto first = std::make_unique<connection>(proxy.port());
    connection second{proxy.port()};
    ASSERT_EQ(first->send({}).status, 200);
    ASSERT_EQ(second.send({}).status, 200);

    connection third{proxy.port()};  // completes in the kernel backlog
    ASSERT_TRUE(third.send_raw("GET /third HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto early = third.read_response(false, true, 500ms);
    EXPECT_EQ(early.status, 0) << "served beyond max_connections";
    EXPECT_FALSE(third.peer_closed()) << "refused instead of held";

    first.reset();
    auto later = third.read_response(false, true, 5s);
    EXPECT_EQ(later.status, 200) << later.error;
    EXPECT_EQ(app.requests().back().target, "/third");
}

}  // namespace
}  // namespace sluice::test
