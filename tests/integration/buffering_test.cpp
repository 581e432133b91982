// Buffering as SPEC.md "Buffering: slow clients never hold a worker" has it, against real sockets:
// a one-worker app behind max_connections 1 keeps serving others while one client uploads slowly
// or reads a large response slowly; a body over memory is spooled and arrives byte-exact; a body
// over max_spool is 413 before any worker sees it; a client gone before its answer is 499.

#include "support/http_client.hpp"
#include "support/proxy_config.hpp"
#include "support/scripted_backend.hpp"
#include "support/sluice_process.hpp"

#include <gtest/gtest.h>

#include <sys/socket.h>

#include <thread>

namespace sluice::test {
namespace {

proxy_config one_worker(const scripted_backend& app, std::string buffering = "")
{
    std::vector<std::string> keys{"server_defaults: { max_connections: 1 }"};
    if (!buffering.empty()) keys.push_back("buffering: " + buffering);
    return proxy_config{}.backend("app", {app.address()}, keys);
}

std::string post_head(std::uint64_t length)
{
    return "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(length) +
           "\r\n\r\n";
}

TEST(buffering, a_slow_upload_holds_no_worker_while_it_arrives)
{
    scripted_backend app{{.workers = 1}};
    sluice_process proxy{one_worker(app)};
    connection slow{proxy.port()};
    ASSERT_TRUE(slow.send_raw(post_head(20000) + pattern_bytes(0, 10000)));
    // Half the body is in; the other half has not been sent. A worker-holding proxy would have
    // given the upload the only slot, and this request would wait for it.
    auto fast = http_get(proxy.port(), "/fast");
    EXPECT_EQ(fast.status, 200) << fast.error;
    EXPECT_EQ(app.request_count(), 1u);  // only /fast reached the app so far
    std::this_thread::sleep_for(300ms);  // a slow client: body_ms grows, slot_ms must not
    ASSERT_TRUE(slow.send_raw(pattern_bytes(10000, 10000)));
    auto done = slow.read_response();
    EXPECT_EQ(done.status, 200) << done.error;
    ASSERT_EQ(app.request_count(), 2u);
    EXPECT_EQ(app.requests()[1].body_size, 20000u);
    EXPECT_TRUE(app.requests()[1].body_matches_pattern);
    auto log = proxy.wait_access_log(2);
    ASSERT_EQ(log.size(), 2u);
    EXPECT_EQ(log[1]["path"], "/upload");
    EXPECT_GE(std::stod(log[1]["body_ms"]), 250) << log[1].text();
    EXPECT_LT(std::stod(log[1]["slot_ms"]), std::stod(log[1]["body_ms"])) << log[1].text();
}

TEST(buffering, with_request_buffering_off_the_upload_streams_and_holds_its_worker)
{
    scripted_backend app{{.workers = 1}};
    sluice_process proxy{one_worker(app, "{ request: off }").timeout("queue", "500ms")};
    connection slow{proxy.port()};
    ASSERT_TRUE(slow.send_raw(post_head(20000) + pattern_bytes(0, 10000)));
    ASSERT_TRUE(app.wait_for_requests(1));  // the head went on at once
    auto fast = http_get(proxy.port(), "/fast");
    EXPECT_EQ(fast.status, 503) << fast.error;  // the only slot is held by the upload
}

TEST(buffering, a_body_over_memory_is_spooled_and_arrives_byte_exact)
{
    scripted_backend app;
    sluice_process proxy{one_worker(app, "{ memory: 16k }")};
    auto r = request(
        proxy.port(),
        {.method = "PUT", .generated_body_size = 3 * mib, .chunked = true, .keep_body = false});
    EXPECT_EQ(r.status, 200) << r.error;
    ASSERT_EQ(app.request_count(), 1u);
    EXPECT_EQ(app.requests()[0].body_size, 3 * mib);
    EXPECT_TRUE(app.requests()[0].body_matches_pattern);
    EXPECT_EQ(app.requests()[0].headers.value("Content-Length"), std::to_string(3 * mib));
    EXPECT_FALSE(app.requests()[0].headers.contains("Transfer-Encoding"));
}

TEST(buffering, a_body_over_max_spool_is_413_and_reaches_no_worker)
{
    scripted_backend app;
    sluice_process proxy{one_worker(app, "{ memory: 16k, max_spool: 64k }")};
    auto r = request(proxy.port(),
                     {.method = "POST", .generated_body_size = 100 * 1024, .chunked = true});
    EXPECT_EQ(r.status, 413) << r.error;
    EXPECT_EQ(app.request_count(), 0u);
    auto log = proxy.wait_access_log(1);
    ASSERT_EQ(log.size(), 1u);
    EXPECT_EQ(log[0]["reason"], "body_too_large");
}

TEST(buffering, a_slow_reader_of_a_large_response_frees_the_worker_at_its_last_byte)
{
    scripted_backend app{{.workers = 1, .response_size = 8 * mib}};
    sluice_process proxy{one_worker(app)};
    connection reader{proxy.port()};
    const int small = 4096;
    setsockopt(reader.stream()->fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    ASSERT_TRUE(reader.send_raw("GET /big HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto head = reader.read_some(2s);  // the head and a first piece; the rest waits at the proxy
    ASSERT_NE(head.find(" 200 "), std::string::npos);
    // The reader takes nothing more; the one worker must be free for someone else.
    auto other = request(proxy.port(), {.path = "/other", .keep_body = false});
    EXPECT_EQ(other.status, 200) << other.error;
    EXPECT_EQ(other.body_size, 8 * mib);
    EXPECT_TRUE(other.body_matches_pattern);
    auto log = proxy.wait_access_log(1);
    ASSERT_GE(log.size(), 1u);
    EXPECT_EQ(log[0]["path"], "/other");
    reader.close();
}

TEST(buffering, a_client_gone_before_its_answer_is_logged_499_not_the_servers_status)
{
    scripted_backend app{{.reply_after = 600ms}};
    sluice_process proxy{one_worker(app)};
    {
        connection c{proxy.port()};
        ASSERT_TRUE(c.send_raw("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"));
        ASSERT_TRUE(app.wait_for_requests(1));
        c.close();
    }
    auto log = proxy.wait_access_log(1);
    ASSERT_EQ(log.size(), 1u);
    EXPECT_EQ(log[0]["status"], "499") << log[0].text();
    EXPECT_EQ(log[0]["reason"], "client_gone");
}

// An app that refuses a body answers before it has read it and closes; the proxy's write then
// fails, but the client gets the app's answer, not a 502, and the app is not asked twice.
TEST(buffering, an_answer_before_the_body_was_read_is_the_response)
{
    scripted_backend app{{.raw_reply = "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 4\r\n"
                                       "Connection: close\r\n\r\nnope"}};
    sluice_process proxy{one_worker(app)};
    auto r = request(
        proxy.port(),
        {.method = "PUT", .path = "/big", .generated_body_size = 8 * mib, .keep_body = true});
    EXPECT_EQ(r.status, 413) << r.error;
    EXPECT_EQ(r.body, "nope");
    EXPECT_EQ(app.request_count(), 1u);
    auto log = proxy.wait_access_log(1);
    ASSERT_EQ(log.size(), 1u);
    EXPECT_EQ(log[0]["retries"], "0");
}

}  // namespace
}  // namespace sluice::test
