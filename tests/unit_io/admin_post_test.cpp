// The admin listener's side of the admin API: POSTs reach the post source with what it needs
// (target, body, peer, Authorization), answers may come later from another thread while
// /healthz keeps answering, and what is not an API call is refused in JSON.
#include "admin/admin_server.hpp"

#include "raw_client.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <mutex>
#include <thread>

namespace {

using namespace std::chrono_literals;
using sluice::admin::admin_reply;
using sluice::admin::admin_request;
using sluice::admin::admin_server;
using sluice::admin::admin_sources;
using sluice::test::raw_client;
namespace http = boost::beast::http;

std::string post(std::string_view target, std::string_view body, std::string_view extra = "")
{
    return "POST " + std::string(target) + " HTTP/1.1\r\nHost: a\r\n" + std::string(extra) +
           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

struct admin_post : ::testing::Test {
    std::atomic<int> signal{0};
    std::mutex mutex;
    std::vector<admin_request> seen;
    std::function<void(admin_reply)> later;  // set by a POST to /reload: answered by the test
    admin_server server{{sluice::config::endpoint::kind::tcp, "127.0.0.1", 0, "", ""}, sources()};

    admin_sources sources()
    {
        admin_sources s{&signal, [] { return true; },
                        [] {
                            return std::pair{true, std::string()};
                        },
                        [] { return std::string(); }, [] { return std::string("{}"); }};
        s.post = [this](admin_request r, std::function<void(admin_reply)> done) {
            std::lock_guard lock(mutex);
            const bool deferred = r.target == "/reload";
            seen.push_back(std::move(r));
            if (deferred)
                later = std::move(done);
            else
                done({200, "{\"ok\":true}"});
        };
        return s;
    }
    void SetUp() override { server.start(); }
    raw_client connect() { return raw_client{server.local_address()}; }
};

TEST_F(admin_post, a_post_reaches_the_source_with_body_peer_and_authorization)
{
    auto c = connect();
    c.send(post("/servers/app/app1/state", "drain", "Authorization: Bearer t0k\r\n"));
    auto res = c.receive();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result(), http::status::ok);
    EXPECT_EQ(res->body(), "{\"ok\":true}");
    EXPECT_EQ(res->at(http::field::content_type), "application/json");
    std::lock_guard lock(mutex);
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].target, "/servers/app/app1/state");
    EXPECT_EQ(seen[0].body, "drain");
    EXPECT_EQ(seen[0].authorization, "Bearer t0k");
    EXPECT_TRUE(seen[0].peer.starts_with("127.0.0.1:")) << seen[0].peer;
}

TEST_F(admin_post, a_late_answer_from_another_thread_comes_back_while_healthz_answers)
{
    auto waiting = connect();
    waiting.send(post("/reload", ""));
    ASSERT_TRUE([&] {
        for (int i = 0; i < 500; ++i) {
            {
                std::lock_guard lock(mutex);
                if (later) return true;
            }
            std::this_thread::sleep_for(2ms);
        }
        return false;
    }());
    EXPECT_EQ(connect().get("/healthz")->body(), "free\n");  // the admin thread is not blocked
    std::thread([done = later] { done({400, "{\"reloaded\":false}"}); }).join();
    auto res = waiting.receive();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result(), http::status::bad_request);
    EXPECT_EQ(res->body(), "{\"reloaded\":false}");
}

TEST_F(admin_post, stop_does_not_wait_for_an_answer_that_never_comes)
{
    auto waiting = connect();
    waiting.send(post("/reload", ""));
    std::this_thread::sleep_for(50ms);
    const auto before = std::chrono::steady_clock::now();
    server.stop();
    EXPECT_LT(std::chrono::steady_clock::now() - before, 2s);
    std::function<void(admin_reply)> done;
    {
        std::lock_guard lock(mutex);
        done = later;
    }
    if (done) done({200, "{}"});  // after stop: dropped, not posted to a stopped server
}

TEST_F(admin_post, what_is_not_an_api_call_is_refused_in_json)
{
    struct row {
        std::string request;
        http::status status;
        std::string allow;
    };
    const row rows[] = {
        {post("/servers/app/app1/drain", "x"), http::status::not_found, ""},
        {post("/nope", ""), http::status::not_found, ""},
        {post("/healthz", ""), http::status::method_not_allowed, "GET, HEAD"},
        {"GET /servers/app/app1/state HTTP/1.1\r\nHost: a\r\n\r\n",
         http::status::method_not_allowed, "POST"},
        {"DELETE /reload HTTP/1.1\r\nHost: a\r\n\r\n", http::status::method_not_allowed, "POST"},
        {"GET /nope HTTP/1.1\r\nHost: a\r\n\r\n", http::status::not_found, ""},
    };
    auto c = connect();
    for (const auto& r : rows) {
        c.send(r.request);
        auto res = c.receive();
        ASSERT_TRUE(res) << r.request;
        EXPECT_EQ(res->result(), r.status) << r.request;
        EXPECT_EQ(res->at(http::field::content_type), "application/json") << r.request;
        EXPECT_TRUE(res->body().starts_with("{\"error\":")) << res->body();
        if (!r.allow.empty()) {
            EXPECT_EQ(res->at(http::field::allow), r.allow) << r.request;
        }
    }
    std::lock_guard lock(mutex);
    EXPECT_TRUE(seen.empty());
}

TEST_F(admin_post, the_status_page_is_one_self_contained_html_document)
{
    auto page = connect().get("/");
    ASSERT_TRUE(page);
    EXPECT_EQ(page->at(http::field::content_type), "text/html; charset=utf-8");
    const auto& body = page->body();
    EXPECT_TRUE(body.starts_with("<!doctype html>"));
    EXPECT_NE(body.find("fetch(\"/status\""), std::string::npos);
    for (auto external : {"http://", "https://", "src=", "stylesheet", "@import", "url("})
        EXPECT_EQ(body.find(external), std::string::npos) << external;
}

}  // namespace
