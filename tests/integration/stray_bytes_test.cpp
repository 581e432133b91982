// A server's bytes that belong to no response: a broken app's extra body bytes, or a body written
// for a HEAD or a 304. The next request on that connection would read them as its response (a
// 502, or worse another response's bytes passed off as its own), so a connection that has sent
// any is not given another request. The client's answers stay its own.

#include "polling.hpp"
#include "support/http_client.hpp"
#include "support/proxy_config.hpp"
#include "support/scripted_backend.hpp"
#include "support/sluice_process.hpp"

#include <gtest/gtest.h>

namespace sluice::test {
namespace {

// A whole response, so a connection that passed it on would answer the next request with it.
const std::string smuggled = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nEVIL";

// Bytes behind the body, in the body's own write: read with the response.
TEST(stray_bytes, sent_with_a_response_keep_its_connection_from_the_next_request)
{
    scripted_backend app{{.handler = [](const recorded_request& r) {
        reply out;
        out.body = "ok";
        if (r.target == "/stray") out.trailing = smuggled;
        return out;
    }}};
    sluice_process proxy{config_for(app)};
    connection client{proxy.port()};
    for (const auto* path : {"/stray", "/next", "/stray", "/next"}) {
        const auto r = client.send({.path = path});
        EXPECT_EQ(r.status, 200) << path << ": " << r.error;
        EXPECT_EQ(r.body, "ok") << path;
    }
    EXPECT_EQ(app.connections_accepted(), 3u);  // new after each /stray; /next's is reused
}

// Bytes that come once the response is over, while the connection idles in the pool: the next
// request, moments later, must not get them.
TEST(stray_bytes, sent_after_a_response_keep_its_connection_from_the_next_request)
{
    scripted_backend app{{.handler = [](const recorded_request& r) {
        reply out;
        out.body = "ok";
        if (r.target.starts_with("/late")) {
            out.late = smuggled;
            out.late_after = 5ms;
            out.chunked = r.target == "/late/chunked";  // its end is found by a body read
        }
        return out;
    }}};
    sluice_process proxy{config_for(app)};
    connection client{proxy.port()};
    for (std::size_t round = 1; round <= 4; ++round) {
        const auto late = client.send({.path = round % 2 ? "/late" : "/late/chunked"});
        EXPECT_EQ(late.status, 200) << late.error;
        EXPECT_EQ(late.body, "ok");
        ASSERT_TRUE(eventually([&] { return app.late_sent() == round; }));
        const auto next = client.send({.path = "/next"});
        EXPECT_EQ(next.status, 200) << next.error;
        EXPECT_EQ(next.body, "ok") << "round " << round;
    }
    EXPECT_EQ(app.request_count(), 8u);
    EXPECT_EQ(app.connections_accepted(), 5u);  // new after each /late; the last /next's kept
}

// Bytes behind a body large enough to be spliced: the pipe takes the body's bytes only, and the
// rest stays in the socket.
TEST(stray_bytes, behind_a_spliced_body_keep_its_connection_from_the_next_request)
{
    constexpr std::uint64_t size = 3 * 1024 * 1024;
    scripted_backend app{{.handler = [](const recorded_request& r) {
        reply out;
        out.body = "ok";
        if (r.target == "/big") {
            out.generated_size = size;
            out.trailing = smuggled;
        }
        return out;
    }}};
    sluice_process proxy{config_for(app).top_level("splice: auto")};
    connection client{proxy.port()};
    for (int round = 0; round < 2; ++round) {
        const auto big = client.send({.path = "/big", .keep_body = false});
        EXPECT_EQ(big.status, 200) << big.error;
        EXPECT_EQ(big.body_size, size);
        EXPECT_TRUE(big.body_matches_pattern);
        const auto next = client.send({.path = "/next"});
        EXPECT_EQ(next.status, 200) << next.error;
        EXPECT_EQ(next.body_size, 2u) << "round " << round;  // "ok", not the big body's tail
        EXPECT_EQ(next.body.substr(0, 8), "ok") << "round " << round;
    }
    EXPECT_TRUE(proxy.wait_stderr("splice: large bodies")) << proxy.stderr_text();
    EXPECT_EQ(app.connections_accepted(), 3u);
}

}  // namespace
}  // namespace sluice::test
