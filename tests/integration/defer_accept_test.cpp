// A listener's defer_accept: with it (the default) the kernel hands a connection over once its
// first bytes have arrived, and sluice serves it at once; a client that connects and waits is
// still served, whenever it speaks. Without it, a silent connection is sluice's at once.

#include "support/http_client.hpp"
#include "support/proxy_config.hpp"
#include "support/scripted_backend.hpp"
#include "support/sluice_process.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

namespace sluice::test {
namespace {

// The open client connections of the only listener.
const std::string open_connections = R"(sluice_client_connections{listener="web"})";

TEST(defer_accept, a_silent_connection_is_held_by_the_kernel_until_it_speaks)
{
    scripted_backend app;
    sluice_process proxy{config_for(app)};
    connection client{proxy.port()};
    ASSERT_TRUE(client.connected());
    std::this_thread::sleep_for(300ms);
    // Connected, but nothing sent: not handed over yet.
    EXPECT_EQ(proxy.metric(open_connections), 0);
    const auto r = client.send({.path = "/first"});
    EXPECT_EQ(r.status, 200) << r.error;
    EXPECT_EQ(proxy.metric(open_connections), 1);
}

// The kernel hands a silent connection over after its second (a SYN-ACK again, the client's
// ACK): a client that speaks only later is served like any other.
TEST(defer_accept, a_client_that_speaks_after_the_kernels_second_is_served)
{
    scripted_backend app;
    sluice_process proxy{config_for(app)};
    connection client{proxy.port()};
    ASSERT_TRUE(client.connected());
    std::this_thread::sleep_for(2500ms);
    for (int i = 0; i < 3; ++i) {
        const auto r = client.send({.path = "/late" + std::to_string(i)});
        EXPECT_EQ(r.status, 200) << r.error;
    }
    EXPECT_EQ(app.request_count(), 3u);
}

TEST(defer_accept, off_a_silent_connection_is_sluices_at_once)
{
    scripted_backend app;
    sluice_process proxy{config_for(app).listener_option("defer_accept: false")};
    connection client{proxy.port()};
    ASSERT_TRUE(client.connected());
    EXPECT_EQ(proxy.wait_metric(open_connections, 1), 1);
    EXPECT_EQ(client.send({}).status, 200);
}

// Many new connections, each with one request and Connection: close, as the close benchmark
// sends them: every one answered.
TEST(defer_accept, a_new_connection_per_request_is_answered_every_time)
{
    scripted_backend app;
    sluice_process proxy{config_for(app)};
    for (int i = 0; i < 200; ++i) {
        const auto r = request(proxy.port(), {.path = "/c" + std::to_string(i),
                                              .headers = {{"Connection", "close"}}});
        ASSERT_EQ(r.status, 200) << "request " << i << ": " << r.error;
    }
    EXPECT_EQ(app.request_count(), 200u);
}

}  // namespace
}  // namespace sluice::test
