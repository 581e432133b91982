// The admin listener: one thread, one io_context, one coroutine per connection.
//
// Lifetimes: the coroutines use the impl through `this`. stop() posts shutdown() to the admin
// thread, which closes the acceptor and every registered connection, so each coroutine ends on
// its own and io.run() returns before the join; nothing outlives the impl. The members the
// coroutines touch are declared before `io`, so even a frame left over would be destroyed (by
// ~io_context) while they still exist. Only the admin thread touches `connections`.
//
// /healthz answers from the atomic alone, with small fixed strings. It shares this thread with
// /metrics and /status, so a slow source delays it by that much: the sources must be cheap.

#include "admin/admin_server.hpp"

#include "net/socket_address.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>


#include <array>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <unordered_set>

namespace sluice::health {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using protocol = asio::generic::stream_protocol;
using stream_type = beast::basic_stream<protocol>;
using request = http::request<http::empty_body>;
using response = http::response<http::string_body>;
using namespace std::chrono_literals;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t head_limit = 8 * 1024;
// The head plus whatever a pipelining client sent after it; beyond that the client is abusive.
constexpr std::size_t buffer_limit = 2 * head_limit;
constexpr auto idle_timeout = 5s;
// A client that stops reading its response must not pin a connection.
constexpr auto write_timeout = 5s;
// Load balancers and scrapers need a handful; more is a leak or an attack on the admin thread.
constexpr std::size_t max_connections = 256;

constexpr std::string_view plain = "text/plain; charset=utf-8";
constexpr std::string_view index_text =
    "sluice admin\n"
    "/healthz  busy/free signal: 200 free, 503 busy, 503 draining\n"
    "/livez    200 while the event loops respond\n"
    "/readyz   200 when config is loaded and each backend has a server up\n"
    "/metrics  Prometheus text format\n"
    "/status   JSON: backends, servers, state, in-flight, queue, last check\n";

enum class route { index, healthz, livez, readyz, metrics, status };
constexpr std::array<std::pair<std::string_view, route>, 6> routes{{
    {"/", route::index},
    {"/healthz", route::healthz},
    {"/livez", route::livez},
    {"/readyz", route::readyz},
    {"/metrics", route::metrics},
    {"/status", route::status},
}};

std::optional<route> find_route(std::string_view target)
{
    auto path = target.substr(0, target.find('?'));
    for (const auto& [name, r] : routes)
        if (name == path) return r;
    return std::nullopt;
}

// Config texts are kept as written; an endpoint built in code may leave `text` empty.
std::string display(const config::endpoint& e)
{
    if (!e.text.empty()) return e.text;
    if (e.type == config::endpoint::kind::unix_socket) return "unix:" + e.path;
    return e.host + ":" + std::to_string(e.port);
}

// Errors that mean the peer sent something wrong and deserves an answer; every other read
// error (close, reset, idle timeout, stop()) ends the connection quietly.
std::optional<std::pair<http::status, std::string_view>> refusal(beast::error_code ec)
{
    if (ec == http::error::header_limit)
        return std::pair{http::status::request_header_fields_too_large,
                         "request head over 8 KiB\n"};
    if (ec == http::error::unexpected_body || ec == http::error::body_limit)
        return std::pair{http::status::bad_request, "admin requests take no body\n"};
    if (ec == http::error::end_of_stream || ec == http::error::partial_message ||
        ec.category() != http::make_error_code(http::error::bad_target).category())
        return std::nullopt;
    return std::pair{http::status::bad_request, "bad request\n"};
}

// A HEAD answer carries the GET answer's Content-Length and no body.
response reply(http::status status, std::string_view type, std::string body, bool head_only)
{
    response res{status, 11};
    res.set(http::field::server, "sluice-admin");
    res.set(http::field::content_type, type);
    res.set(http::field::cache_control, "no-store");
    res.content_length(body.size());
    if (!head_only) res.body() = std::move(body);
    return res;
}

response healthz(const std::atomic<int>& signal, bool head_only)
{
    switch (static_cast<proxy_signal>(signal.load(std::memory_order_relaxed))) {
    case proxy_signal::free:
        return reply(http::status::ok, plain, "free\n", head_only);
    case proxy_signal::draining:
        return reply(http::status::service_unavailable, plain, "draining\n", head_only);
    default:  // busy, or a value this build does not know: not a reason to send traffic
        return reply(http::status::service_unavailable, plain, "busy\n", head_only);
    }
}

}  // namespace

struct admin_server::impl {
    impl(const config::endpoint& bind, admin_sources s);
    void bind(const config::endpoint& e);
    asio::awaitable<void> accept_loop();
    asio::awaitable<void> serve(protocol::socket socket);
    response answer(const request& req) const;
    response from_sources(route r, bool head_only) const;
    void shutdown();

    // Registers a connection for shutdown() for as long as its coroutine runs.
    struct registration {
        registration(impl& i, stream_type& s) : i(i), s(s) { i.connections.insert(&s); }
        ~registration() { i.connections.erase(&s); }
        impl& i;
        stream_type& s;
    };

    admin_sources sources;
    std::unordered_set<stream_type*> connections;
    bool stopped = false;  // admin thread only, once started
    std::string address;
    asio::io_context io{1};
    net::acceptor_type acceptor{io};
    std::thread thread;
    bool stop_requested = false;  // owner's thread
};

admin_server::impl::impl(const config::endpoint& e, admin_sources s) : sources(std::move(s))
{
    if (!sources.signal) throw std::invalid_argument("admin_server: sources.signal is null");
    bind(e);
}

// Blocking resolution is fine here: the admin server is built at start-up.
void admin_server::impl::bind(const config::endpoint& e)
{
    boost::system::error_code ec;
    try {
        ec = net::listen_on(acceptor, e);
    } catch (const std::runtime_error& failure) {
        throw std::runtime_error(std::string("admin.bind: ") + failure.what());
    }
    if (ec)
        throw std::runtime_error("admin.bind: cannot listen on " + display(e) + ": " +
                                 ec.message() + "; is another process using it?");
    address = net::describe(acceptor.local_endpoint());
}

asio::awaitable<void> admin_server::impl::accept_loop()
{
    while (!stopped) {
        auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
        if (stopped) break;
        if (ec) {
            // Out of descriptors and the like: pause instead of spinning on the error.
            asio::steady_timer pause{io, 50ms};
            co_await pause.async_wait(use_tuple);
            continue;
        }
        if (connections.size() >= max_connections) continue;  // `socket` closes here
        asio::co_spawn(io, serve(std::move(socket)), asio::detached);
    }
}

asio::awaitable<void> admin_server::impl::serve(protocol::socket socket)
{
    stream_type stream{std::move(socket)};
    registration registered{*this, stream};
    beast::flat_buffer buffer{buffer_limit};
    for (;;) {
        http::request_parser<http::empty_body> parser;
        parser.header_limit(head_limit);
        stream.expires_after(idle_timeout);
        auto [read_ec, in] = co_await http::async_read(stream, buffer, parser, use_tuple);
        auto refused = read_ec ? refusal(read_ec) : std::nullopt;
        if (read_ec && !refused) break;
        response res = refused ? reply(refused->first, plain, std::string(refused->second), false)
                               : answer(parser.get());
        if (!refused) res.version(parser.get().version());
        // After a refusal the rest of the stream cannot be trusted to frame a next request.
        res.keep_alive(!refused && parser.get().keep_alive() && !stopped);
        stream.expires_after(write_timeout);
        auto [write_ec, out] = co_await http::async_write(stream, res, use_tuple);
        if (write_ec || !res.keep_alive()) break;
    }
    beast::error_code ignored;
    stream.socket().shutdown(protocol::socket::shutdown_send, ignored);
}

response admin_server::impl::answer(const request& req) const
{
    auto r = find_route(req.target());
    if (!r) return reply(http::status::not_found, plain, "not found; see /\n", false);
    bool head_only = req.method() == http::verb::head;
    if (req.method() != http::verb::get && !head_only) {
        auto res = reply(http::status::method_not_allowed, plain, "use GET or HEAD\n", false);
        res.set(http::field::allow, "GET, HEAD");
        return res;
    }
    if (r == route::healthz) return healthz(*sources.signal, head_only);
    if (r == route::index) return reply(http::status::ok, plain, std::string(index_text), head_only);
    try {
        return from_sources(*r, head_only);
    } catch (const std::exception& e) {
        // A failing source (or one left unset) costs its endpoint, never the admin thread.
        return reply(http::status::internal_server_error, plain,
                     std::string("admin source failed: ") + e.what() + "\n", head_only);
    }
}

response admin_server::impl::from_sources(route r, bool head_only) const
{
    switch (r) {
    case route::livez:
        if (sources.live()) return reply(http::status::ok, plain, "live\n", head_only);
        return reply(http::status::service_unavailable, plain, "event loops not responding\n",
                     head_only);
    case route::readyz: {
        auto [ok, reason] = sources.ready();
        if (ok) return reply(http::status::ok, plain, "ready\n", head_only);
        if (reason.empty() || reason.back() != '\n') reason += '\n';
        return reply(http::status::service_unavailable, plain, std::move(reason), head_only);
    }
    case route::metrics:
        return reply(http::status::ok, "text/plain; version=0.0.4; charset=utf-8",
                     sources.metrics_text(), head_only);
    case route::status:
        return reply(http::status::ok, "application/json", sources.status_json(), head_only);
    default:  // index and healthz are answered by answer() without the sources
        return reply(http::status::not_found, plain, "not found; see /\n", head_only);
    }
}

void admin_server::impl::shutdown()
{
    stopped = true;
    beast::error_code ignored;
    acceptor.close(ignored);
    // Fails every pending read and write; each coroutine then ends and unregisters itself.
    for (stream_type* s : connections) s->socket().close(ignored);
}

admin_server::admin_server(const config::endpoint& bind, admin_sources sources)
    : impl_(std::make_unique<impl>(bind, std::move(sources)))
{
}

admin_server::~admin_server()
{
    stop();
}

void admin_server::start()
{
    if (impl_->thread.joinable() || impl_->stop_requested) return;
    asio::co_spawn(impl_->io, impl_->accept_loop(), asio::detached);
    impl_->thread = std::thread([this] { impl_->io.run(); });
}

void admin_server::stop()
{
    if (!impl_->stop_requested) {
        impl_->stop_requested = true;
        if (impl_->thread.joinable())
            asio::post(impl_->io, [i = impl_.get()] { i->shutdown(); });
        else
            impl_->shutdown();  // never started: no other thread touches the impl
    }
    if (impl_->thread.joinable()) impl_->thread.join();
}

std::string admin_server::local_address() const
{
    return impl_->address;
}

}  // namespace sluice::health
