#include "demo/demo_app.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using sluice::proxy::demo_app;
using sluice::proxy::demo_app_options;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Every wait in these tests ends by this deadline: a hung server fails the test, never hangs it.
constexpr auto deadline = 10s;

// A demo_app with its io_context on its own thread; stop() lets the thread run out and join.
struct running_app {
    explicit running_app(demo_app_options options) : app(io, std::move(options))
    {
        app.start();
        thread = std::thread([this] { io.run(); });
    }
    ~running_app()
    {
        app.stop();
        thread.join();
    }
    asio::io_context io{1};
    demo_app app;
    std::thread thread;
};

struct reply {
    beast::error_code ec;
    http::response<http::string_body> res;
};

// One keep-alive connection. Writes are small and blocking; reads run the client's own
// io_context under the stream's deadline, so they can neither hang nor need a sleep.
class client {
public:
    explicit client(std::uint16_t port)
    {
        stream_.connect(asio::ip::tcp::endpoint{asio::ip::make_address("127.0.0.1"), port});
    }
    void send(const std::string& target)
    {
        http::request<http::empty_body> req{http::verb::get, target, 11};
        req.set(http::field::host, "demo.test");
        http::write(stream_.socket(), req);
    }
    reply receive()
    {
        reply r;
        stream_.expires_after(deadline);
        http::async_read(stream_, buffer_, r.res,
                         [&r](beast::error_code ec, std::size_t) { r.ec = ec; });
        io_.restart();
        io_.run();
        return r;
    }
    reply get(const std::string& target)
    {
        send(target);
        return receive();
    }

private:
    asio::io_context io_;
    beast::tcp_stream stream_{io_};
    beast::flat_buffer buffer_;
};

demo_app_options one_worker() { return {.name = "demo1", .workers = 1}; }

// Polls /healthz on its own connection until it reports `status`, within the deadline.
bool healthz_reaches(std::uint16_t port, http::status status)
{
    client probe{port};
    for (auto until = clock_type::now() + deadline; clock_type::now() < until;) {
        auto r = probe.get("/healthz");
        if (r.ec) return false;
        if (r.res.result() == status) return true;
    }
    return false;
}

TEST(demo_app, root_says_hello_with_app_name_and_worker)
{
    running_app app{one_worker()};
    auto r = client{app.app.port()}.get("/");
    ASSERT_FALSE(r.ec) << r.ec.message();
    EXPECT_EQ(r.res.result(), http::status::ok);
    EXPECT_EQ(r.res.body(), "hello from demo1 (worker 1)\n");
}

TEST(demo_app, work_holds_a_worker_for_the_given_time)
{
    running_app app{one_worker()};
    auto start = clock_type::now();
    auto r = client{app.app.port()}.get("/work?ms=50");
    ASSERT_FALSE(r.ec) << r.ec.message();
    EXPECT_EQ(r.res.result(), http::status::ok);
    EXPECT_EQ(r.res.body(), "demo1 worked 50 ms\n");
    EXPECT_GE(clock_type::now() - start, 50ms);
}

TEST(demo_app, unknown_paths_and_bad_work_requests_are_refused)
{
    running_app app{one_worker()};
    client c{app.app.port()};
    EXPECT_EQ(c.get("/nope").res.result(), http::status::not_found);
    EXPECT_EQ(c.get("/work?ms=abc").res.result(), http::status::bad_request);
    EXPECT_EQ(c.get("/work").res.result(), http::status::bad_request);
}

TEST(demo_app, healthz_is_busy_while_every_worker_works_and_free_after)
{
    running_app app{one_worker()};
    EXPECT_TRUE(healthz_reaches(app.app.port(), http::status::ok));
    client worker{app.app.port()};
    worker.send("/work?ms=1000");
    EXPECT_TRUE(healthz_reaches(app.app.port(), http::status::service_unavailable));
    auto r = worker.receive();
    ASSERT_FALSE(r.ec) << r.ec.message();
    // The worker is back in the pool before its response is written.
    auto health = client{app.app.port()}.get("/healthz");
    EXPECT_EQ(health.res.result(), http::status::ok);
    EXPECT_EQ(health.res.body(), "free");
}

TEST(demo_app, requests_beyond_the_workers_wait_their_turn)
{
    running_app app{one_worker()};
    client first{app.app.port()};
    client second{app.app.port()};
    auto start = clock_type::now();
    first.send("/work?ms=200");
    // Only once the first holds the worker, so the order of arrival is known.
    ASSERT_TRUE(healthz_reaches(app.app.port(), http::status::service_unavailable));
    second.send("/work?ms=200");
    auto a = first.receive();
    auto b = second.receive();
    ASSERT_FALSE(a.ec) << a.ec.message();
    ASSERT_FALSE(b.ec) << b.ec.message();
    EXPECT_EQ(b.res.result(), http::status::ok);
    // Timers never fire early: side by side, both would be done after ~200 ms.
    EXPECT_GE(clock_type::now() - start, 400ms);
}

TEST(demo_app, keep_alive_serves_several_requests_on_one_connection)
{
    running_app app{one_worker()};
    client c{app.app.port()};
    for (const char* target : {"/", "/healthz", "/work?ms=1", "/"}) {
        auto r = c.get(target);
        ASSERT_FALSE(r.ec) << target << ": " << r.ec.message();
        EXPECT_EQ(r.res.result(), http::status::ok) << target;
        EXPECT_TRUE(r.res.keep_alive()) << target;
    }
}

TEST(demo_app, idle_keep_alive_connections_are_closed_after_the_timeout)
{
    auto options = one_worker();
    options.keepalive_timeout = 100ms;
    running_app app{options};
    client c{app.app.port()};
    ASSERT_FALSE(c.get("/").ec);
    auto start = clock_type::now();
    EXPECT_EQ(c.receive().ec, http::error::end_of_stream);
    EXPECT_LT(clock_type::now() - start, deadline / 2);
}

TEST(demo_app, stop_ends_working_and_waiting_requests)
{
    auto app = std::make_unique<running_app>(one_worker());
    client working{app->app.port()};
    client waiting{app->app.port()};
    working.send("/work?ms=60000");
    ASSERT_TRUE(healthz_reaches(app->app.port(), http::status::service_unavailable));
    waiting.send("/work?ms=60000");
    auto start = clock_type::now();
    app->app.stop();
    // Both connections close unanswered (a FIN, or a reset when the request was still unread),
    // well before a minute of work or the read deadline.
    for (client* c : {&working, &waiting}) {
        auto ec = c->receive().ec;
        EXPECT_TRUE(ec == http::error::end_of_stream || ec == asio::error::connection_reset)
            << ec.message();
    }
    EXPECT_LT(clock_type::now() - start, deadline / 2);
    app.reset();  // joins: nothing is left running on the io_context
}

TEST(demo_app, a_taken_port_fails_with_a_message_naming_it)
{
    running_app app{one_worker()};
    asio::io_context io;
    try {
        demo_app second{io, {.name = "demo2", .port = app.app.port()}};
        FAIL() << "bound a port already in use";
    } catch (const std::system_error& e) {
        EXPECT_NE(std::string{e.what()}.find(std::to_string(app.app.port())), std::string::npos)
            << e.what();
        EXPECT_NE(std::string{e.what()}.find("demo2"), std::string::npos) << e.what();
    }
}

}  // namespace
