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
//
// A POST is handed to sources.post with a callback; a reload answers later from the control
// thread. The connection's coroutine waits on a timer that the answer cancels (posted to this
// thread through `gate`, which outlives the impl's io_context only as an empty shell), so the
// admin thread keeps answering /healthz meanwhile.

#include "admin/admin_server.hpp"

#include "admin/admin_access.hpp"
#include "admin/admin_replies.hpp"
#include "admin/status_page.hpp"
#include "net/socket_address.hpp"
#include "net/thread_signals.hpp"

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
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <unordered_set>

namespace sluice::admin {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using protocol = asio::generic::stream_protocol;
using stream_type = beast::basic_stream<protocol>;
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

// Config texts are kept as written; an endpoint built in code may leave `text` empty.
std::string display(const config::endpoint& e)
{
    if (!e.text.empty()) return e.text;
    if (e.type == config::endpoint::kind::unix_socket) return "unix:" + e.path;
    return e.host + ":" + std::to_string(e.port);
}

// Where a POST's answer goes back to the admin thread. The impl empties it before its io_context
// goes, so an answer that comes after that is dropped instead of posted to a dead context.
struct post_gate {
    std::mutex mutex;
    asio::io_context* io = nullptr;
};

// One POST waiting for its answer: set on any thread under `mutex`; `wake` (admin thread only)
// is the waiting coroutine's timer, null once it stopped waiting.
struct pending_post {
    std::mutex mutex;
    std::optional<admin_reply> answer;
    asio::steady_timer* wake = nullptr;
};

}  // namespace

struct admin_server::impl {
    impl(const config::endpoint& bind, admin_sources s);
    void bind(const config::endpoint& e);
    asio::awaitable<void> accept_loop();
    asio::awaitable<void> serve(protocol::socket socket);
    response answer(const request& req) const;
    asio::awaitable<response> answer_post(const request& req, const std::string& peer);
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
    std::unordered_set<asio::steady_timer*> waiting_posts;  // cancelled by shutdown()
    std::shared_ptr<post_gate> gate = std::make_shared<post_gate>();
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
    gate->io = &io;
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
    beast::error_code peer_ec;
    const auto remote = stream.socket().remote_endpoint(peer_ec);
    const std::string peer = peer_ec ? "unknown" : net::describe(remote);
    beast::flat_buffer buffer{buffer_limit};
    for (;;) {
        http::request_parser<http::string_body> parser;
        parser.header_limit(head_limit);
        parser.body_limit(max_post_body);
        stream.expires_after(idle_timeout);
        auto [read_ec, in] = co_await http::async_read(stream, buffer, parser, use_tuple);
        auto refused = read_ec ? refusal(read_ec) : std::nullopt;
        if (read_ec && !refused) break;
        response res;
        if (refused)
            res = reply(refused->first, json_type, std::move(refused->second), false);
        else if (parser.get().method() == http::verb::post)
            res = co_await answer_post(parser.get(), peer);
        else
            res = answer(parser.get());
        if (stopped) break;
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
    if (!r) {
        if (parse_post_target(req.target())) return not_allowed("POST");
        return reply(http::status::not_found, json_type,
                     error_json("no such admin endpoint; GET / shows the status page, "
                                "/status its JSON"),
                     false);
    }
    bool head_only = req.method() == http::verb::head;
    if (req.method() != http::verb::get && !head_only) return not_allowed("GET, HEAD");
    if (r == route::healthz) return healthz(*sources.signal, head_only);
    if (r == route::index)
        return reply(http::status::ok, html, std::string(status_page_html()), head_only);
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

// The coroutine waits on `wake` until the answer's callback cancels it, the POST times out, or
// shutdown() cancels it.
asio::awaitable<response> admin_server::impl::answer_post(const request& req,
                                                          const std::string& peer)
{
    if (!sources.post || !parse_post_target(req.target())) {
        if (find_route(req.target())) co_return not_allowed("GET, HEAD");
        co_return reply(http::status::not_found, json_type,
                        error_json("no such admin API endpoint; POST /servers/BACKEND/SERVER/"
                                   "state, /servers/BACKEND/SERVER/weight or /reload"),
                        false);
    }
    auto pending = std::make_shared<pending_post>();
    asio::steady_timer wake{io, post_timeout};
    pending->wake = &wake;
    waiting_posts.insert(&wake);
    sources.post({std::string(req.target()), req.body(), peer,
                  std::string(req[http::field::authorization])},
                 [pending, gate = gate](admin_reply answer) {
                     {
                         std::lock_guard lock(pending->mutex);
                         pending->answer = std::move(answer);
                     }
                     std::lock_guard lock(gate->mutex);
                     if (gate->io)
                         asio::post(*gate->io, [pending] {
                             if (pending->wake) pending->wake->cancel();
                         });
                 });
    std::optional<admin_reply> answer;
    for (;;) {
        {
            std::lock_guard lock(pending->mutex);
            answer = std::move(pending->answer);
        }
        if (answer || stopped) break;
        auto [ec] = co_await wake.async_wait(use_tuple);
        if (!ec) break;  // timed out
    }
    pending->wake = nullptr;
    waiting_posts.erase(&wake);
    if (!answer)
        co_return reply(http::status::gateway_timeout, json_type,
                        error_json("no answer within " + std::to_string(post_timeout.count()) +
                                   " s (or sluice is stopping); see the log for the outcome"),
                        false);
    co_return reply(static_cast<http::status>(answer->status), json_type, std::move(answer->json),
                    false);
}

void admin_server::impl::shutdown()
{
    stopped = true;
    beast::error_code ignored;
    acceptor.close(ignored);
    for (auto* wake : waiting_posts) wake->cancel();
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
    std::lock_guard lock(impl_->gate->mutex);
    impl_->gate->io = nullptr;
}

void admin_server::start()
{
    if (impl_->thread.joinable() || impl_->stop_requested) return;
    asio::co_spawn(impl_->io, impl_->accept_loop(), asio::detached);
    impl_->thread = net::thread_without_stop_signals([this] { impl_->io.run(); });
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

std::string admin_server::local_address() const { return impl_->address; }

}  // namespace sluice::admin
