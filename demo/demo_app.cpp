// The demo app server: one coroutine per connection on one io_context, and a pool of `workers`
// tokens that a request holds while it is "handled", like a gunicorn sync worker.
//
// Lifetimes: the coroutines take a shared_ptr to the server, so a demo_app destroyed while
// its io_context still holds suspended connections leaves nothing dangling; they end when the
// io_context runs them (after stop() they fail at once) or destroys them.
// Waiting for a worker: a connection parks its `wake` timer at time_point::max in a FIFO;
// release() hands the freed worker to the oldest one and cancels its timer. Everything runs on
// the io_context's one thread, so no lock guards the pool.

#include "demo/demo_app.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <charconv>
#include <deque>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <unordered_set>
#include <utility>
#include <vector>

namespace sluice::proxy {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using request = http::request<http::string_body>;
using response = http::response<http::string_body>;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
// A client that stops reading its response must not pin a connection forever.
constexpr auto write_timeout = std::chrono::seconds(30);
// The longest /work accepted: ample for a demo, far from overflowing a timer.
constexpr unsigned max_work_ms = 3'600'000;

// One client connection. `wake` serves both the wait for a worker and the work itself: a
// connection does one thing at a time, so stop() cancels one timer per connection.
struct connection {
    explicit connection(tcp::socket socket) : stream(std::move(socket)), wake(stream.get_executor())
    {
    }
    beast::tcp_stream stream;
    asio::steady_timer wake;
    std::optional<unsigned> worker;  // set by release() when it hands this connection a worker
};

response reply(const request& req, http::status status, std::string body)
{
    response res{status, req.version()};
    res.set(http::field::server, "sluice-demo");
    res.set(http::field::content_type, "text/plain; charset=utf-8");
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
}

// "ms=N" anywhere in the query; nullopt when absent, malformed or beyond max_work_ms.
std::optional<unsigned> work_ms(std::string_view query)
{
    for (std::size_t at = 0; at < query.size();) {
        auto end = std::min(query.find('&', at), query.size());
        auto pair = query.substr(at, end - at);
        if (pair.starts_with("ms=")) {
            unsigned ms = 0;
            auto digits = pair.substr(3);
            auto [last, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), ms);
            if (ec != std::errc{} || last != digits.data() + digits.size() || ms > max_work_ms)
                return std::nullopt;
            return ms;
        }
        at = end + 1;
    }
    return std::nullopt;
}

class server {
public:
    server(asio::io_context& io, demo_app_options options);
    std::uint16_t port() const { return port_; }
    // Static with `self` as a parameter: a coroutine's parameters outlive its locals, so the
    // server outlives every connection's cleanup.
    static asio::awaitable<void> accept_loop(std::shared_ptr<server> self);
    void shutdown();

private:
    // Registers a connection for shutdown() and takes it out of the FIFO on any exit.
    struct registration {
        registration(server& s, connection& c) : s(s), c(c) { s.connections_.insert(&c); }
        ~registration()
        {
            s.connections_.erase(&c);
            std::erase(s.waiting_, &c);
        }
        server& s;
        connection& c;
    };
    // A held worker, given back (to the oldest waiter first) when the request is done.
    struct lease {
        ~lease() { s.release(worker); }
        server& s;
        unsigned worker;
    };

    static asio::awaitable<void> serve(std::shared_ptr<server> self, tcp::socket socket);
    asio::awaitable<response> answer(connection& c, const request& req);
    asio::awaitable<response> work(connection& c, const request& req, unsigned ms);
    asio::awaitable<std::optional<unsigned>> acquire(connection& c);
    void release(unsigned worker);

    demo_app_options options_;
    tcp::acceptor acceptor_;
    std::uint16_t port_ = 0;
    std::vector<unsigned> idle_workers_;  // a stack: the lowest number is handed out first
    std::deque<connection*> waiting_;     // oldest first
    std::unordered_set<connection*> connections_;
    bool stopped_ = false;
};

server::server(asio::io_context& io, demo_app_options options)
    : options_(std::move(options)), acceptor_(io)
{
    if (options_.workers == 0)
        throw std::invalid_argument("demo app " + options_.name + ": workers must be at least 1");
    auto fail = [this](boost::system::error_code ec, const std::string& what) {
        throw std::system_error(ec, "demo app " + options_.name + ": " + what + " " +
                                        options_.host + ":" + std::to_string(options_.port));
    };
    boost::system::error_code ec;
    auto address = asio::ip::make_address(options_.host, ec);
    if (ec) fail(ec, "host is not an IP address:");
    tcp::endpoint endpoint{address, options_.port};
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) fail(ec, "cannot listen on");
    port_ = acceptor_.local_endpoint().port();
    for (unsigned k = options_.workers; k >= 1; --k) idle_workers_.push_back(k);
}

void server::shutdown()
{
    stopped_ = true;
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    // Wakes waiters without a worker, ends work early and fails every pending read and write.
    waiting_.clear();
    for (connection* c : connections_) {
        c->stream.close();
        c->wake.cancel();
    }
}

asio::awaitable<void> server::accept_loop(std::shared_ptr<server> self)
{
    while (!self->stopped_) {
        auto [ec, socket] = co_await self->acceptor_.async_accept(use_tuple);
        if (self->stopped_) break;
        if (ec) {
            // Out of descriptors and the like: pause instead of spinning on the error.
            asio::steady_timer pause{self->acceptor_.get_executor(), std::chrono::milliseconds(50)};
            co_await pause.async_wait(use_tuple);
            continue;
        }
        asio::co_spawn(self->acceptor_.get_executor(), serve(self, std::move(socket)),
                       asio::detached);
    }
}

asio::awaitable<void> server::serve(std::shared_ptr<server> self, tcp::socket socket)
{
    connection c{std::move(socket)};
    registration registered{*self, c};
    beast::flat_buffer buffer;
    for (;;) {
        request req;
        c.stream.expires_after(self->options_.keepalive_timeout);
        auto [read_ec, in] = co_await http::async_read(c.stream, buffer, req, use_tuple);
        // Idle timeout, client close, garbage or stop(): all end the connection quietly.
        if (read_ec) co_return;
        response res = co_await self->answer(c, req);
        res.keep_alive(req.keep_alive() && !self->stopped_);
        c.stream.expires_after(write_timeout);
        auto [write_ec, out] = co_await http::async_write(c.stream, res, use_tuple);
        if (write_ec) co_return;
        if (!res.keep_alive()) break;
    }
    boost::system::error_code ignored;
    c.stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

asio::awaitable<response> server::answer(connection& c, const request& req)
{
    std::string_view target = req.target();
    auto question = target.find('?');
    auto path = target.substr(0, question);
    auto query = question == target.npos ? std::string_view{} : target.substr(question + 1);
    if (req.method() != http::verb::get || (path != "/" && path != "/work" && path != "/healthz"))
        co_return reply(req, http::status::not_found, "not found\n");
    if (path == "/healthz") {
        // Off the pool, like the proxy's own /healthz: computed, never waiting for a worker.
        if (idle_workers_.empty()) co_return reply(req, http::status::service_unavailable, "busy");
        co_return reply(req, http::status::ok, "free");
    }
    if (path == "/work") {
        auto ms = work_ms(query);
        if (!ms) co_return reply(req, http::status::bad_request, "usage: /work?ms=N\n");
        co_return co_await work(c, req, *ms);
    }
    auto worker = co_await acquire(c);
    if (!worker) co_return reply(req, http::status::service_unavailable, "stopping\n");
    lease held{*this, *worker};
    co_return reply(req, http::status::ok,
                    "hello from " + options_.name + " (worker " + std::to_string(*worker) + ")\n");
}

asio::awaitable<response> server::work(connection& c, const request& req, unsigned ms)
{
    auto worker = co_await acquire(c);
    if (!worker) co_return reply(req, http::status::service_unavailable, "stopping\n");
    lease held{*this, *worker};
    c.wake.expires_after(std::chrono::milliseconds(ms));
    auto [ec] = co_await c.wake.async_wait(use_tuple);
    if (ec) co_return reply(req, http::status::service_unavailable, "stopping\n");
    co_return reply(req, http::status::ok,
                    options_.name + " worked " + std::to_string(ms) + " ms\n");
}

// A worker now, else a place at the back of the FIFO until release() hands one over.
// nullopt when stop() ended the wait instead.
asio::awaitable<std::optional<unsigned>> server::acquire(connection& c)
{
    if (stopped_) co_return std::nullopt;
    if (!idle_workers_.empty()) {
        unsigned worker = idle_workers_.back();
        idle_workers_.pop_back();
        co_return worker;
    }
    waiting_.push_back(&c);
    c.wake.expires_at(asio::steady_timer::time_point::max());
    co_await c.wake.async_wait(use_tuple);  // never expires: only release() or shutdown() end it
    co_return std::exchange(c.worker, std::nullopt);
}

void server::release(unsigned worker)
{
    if (waiting_.empty()) {
        idle_workers_.push_back(worker);
        return;
    }
    connection* next = waiting_.front();
    waiting_.pop_front();
    next->worker = worker;
    next->wake.cancel();
}

}  // namespace

struct demo_app::impl {
    asio::io_context& io;
    std::shared_ptr<server> srv;
};

demo_app::demo_app(asio::io_context& io, demo_app_options options)
    : impl_(new impl{io, std::make_shared<server>(io, std::move(options))})
{
}

demo_app::~demo_app() { stop(); }

std::uint16_t demo_app::port() const { return impl_->srv->port(); }

void demo_app::start()
{
    asio::co_spawn(impl_->io, server::accept_loop(impl_->srv), asio::detached);
}

void demo_app::stop()
{
    asio::dispatch(impl_->io, [srv = impl_->srv] { srv->shutdown(); });
}

}  // namespace sluice::proxy
