#include "health/checker.hpp"

#include "health/check_failure.hpp"
#include "health/jitter.hpp"
#include "net/socket_address.hpp"
#include "net/thread_signals.hpp"
#include "net/tls_client_context.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>

#include <algorithm>
#include <atomic>
#include <random>
#include <thread>

namespace sluice::health {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using protocol = asio::generic::stream_protocol;
using boost::system::error_code;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

// A name that does not resolve fails the check (and is tried again next time), not the checker.
std::optional<protocol::endpoint> resolve(const config::endpoint& e, std::uint16_t port)
{
    try {
        return net::to_socket_address(e, port);
    } catch (const std::runtime_error&) {
        return std::nullopt;
    }
}

// One probe's socket, closed by a timer when the probe takes longer than `timeout`.
struct probe {
    probe(asio::io_context& io, clock::duration timeout)
        : socket(std::make_shared<protocol::socket>(io)), timer(io),
          deadline(clock::now() + timeout)
    {
        timer.expires_at(deadline);
        timer.async_wait([s = socket](error_code ec) {
            if (!ec) {
                error_code ignored;
                s->close(ignored);
            }
        });
    }
    ~probe() { timer.cancel(); }
    bool timed_out() const { return clock::now() >= deadline; }
    std::string failure(const error_code& ec, std::string_view step) const
    {
        return timed_out() ? "timed out" : std::string(step) + ": " + ec.message();
    }

    std::shared_ptr<protocol::socket> socket;
    asio::steady_timer timer;
    clock::time_point deadline;
};

check_result classify(const config::health_http& h, unsigned status)
{
    auto in = [status](const std::vector<unsigned>& v) {
        return std::find(v.begin(), v.end(), status) != v.end();
    };
    if (in(h.expect_status)) return check_result::passed(std::to_string(status));
    if (in(h.busy_status)) return check_result::busy(status);
    return check_result::failed("answered " + std::to_string(status));
}

// Why a step failed: a timeout (perhaps only a busy server's, see busy_timeout.hpp), or the
// error in the step's words.
check_result step_failure(const probe& p, const error_code& ec, std::string_view step)
{
    return p.timed_out() ? check_result::timeout() : check_result::failed(p.failure(ec, step));
}

// Reading the response head failed: what was seen, with the protocol hint when it points at a
// mismatch (no answer at all, or bytes that are not HTTP).
check_result read_failure(const probe& p, const check_target& t, const error_code& ec,
                          const boost::beast::flat_buffer& seen)
{
    if (p.timed_out()) return check_result::timeout();
    if (ec == http::error::end_of_stream)
        return check_result::failed(closed_without_answer(t.protocol));
    const bool parse_error = ec.category() == make_error_code(http::error::bad_version).category();
    if (parse_error && seen.size() > 0) {
        const std::string_view bytes(static_cast<const char*>(seen.data().data()), seen.size());
        return check_result::failed(not_an_http_answer(t.protocol, bytes));
    }
    return check_result::failed(p.failure(ec, "response"));
}

// The check request, and the response head that decides; the body is never read, so a check
// costs the server no more than its head.
template <class Stream>
asio::awaitable<check_result> ask(probe& p, const check_target& t, Stream& stream)
{
    auto [wec, n] = co_await asio::async_write(stream, asio::buffer(t.request), use_tuple);
    if (wec) co_return step_failure(p, wec, "send");
    boost::beast::flat_buffer buffer;
    http::response_parser<http::empty_body> parser;
    parser.header_limit(16 * 1024);
    auto [rec, m] = co_await http::async_read_header(stream, buffer, parser, use_tuple);
    if (rec) co_return read_failure(p, t, rec, buffer);
    co_return classify(*t.health.http, parser.get().result_int());
}

asio::awaitable<check_result> ask_over_tls(probe& p, const check_target& t)
{
    SSL* ssl = t.tls->new_session();
    if (!ssl) co_return check_result::failed("TLS: out of memory");
    asio::ssl::stream<protocol::socket&> stream(*p.socket, ssl);
    auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::client, use_tuple);
    if (ec) {
        if (p.timed_out()) co_return check_result::timeout();
        std::string detail;
        const auto reason = net::server_tls_failure(stream.native_handle(), detail);
        co_return check_result::failed("TLS handshake (" + std::string(reason) + "): " + detail);
    }
    co_return co_await ask(p, t, stream);
}

// A connect, and with `health.http` one request (over TLS when the server has `tls`).
asio::awaitable<check_result> run_check(asio::io_context& io, const check_target& t,
                                        const protocol::endpoint& to)
{
    probe p(io, t.health.timeout);
    auto [ec] = co_await p.socket->async_connect(to, use_tuple);
    if (ec) co_return step_failure(p, ec, "connect");
    if (!t.proxy_header.empty()) {
        auto [wec, n] = co_await asio::async_write(*p.socket, asio::buffer(t.proxy_header),
                                                   use_tuple);
        if (wec) co_return step_failure(p, wec, "send the PROXY header");
    }
    if (!t.health.http) co_return check_result::passed("connected");
    if (t.tls) co_return co_await ask_over_tls(p, t);
    co_return co_await ask(p, t, *p.socket);
}

// HAProxy's agent check: connect, read one line, parse it.
asio::awaitable<void> run_agent(asio::io_context& io, const check_target& t,
                                const protocol::endpoint& to)
{
    probe p(io, t.health.timeout);
    auto [ec] = co_await p.socket->async_connect(to, use_tuple);
    std::string line;
    if (!ec) {
        auto buffer = asio::dynamic_buffer(line, 1024);
        auto [rec, n] = co_await asio::async_read_until(*p.socket, buffer, "\n", use_tuple);
        if (rec && line.empty())
            ec = rec;  // closed without a reply; a reply without a newline still counts
    }
    if (ec) {
        t.on_agent_problem(
            {agent_problem::kind::unreachable, "agent unreachable: " + p.failure(ec, "connect")});
        co_return;
    }
    std::string problem;
    if (auto reply = parse_agent_reply(line, &problem)) t.on_agent(*reply);
    if (!problem.empty())
        t.on_agent_problem({agent_problem::kind::malformed, "agent reply: " + problem});
}

}  // namespace

struct checker::impl : std::enable_shared_from_this<impl> {
    asio::io_context io{1};
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard;
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> current_alive = std::make_shared<std::atomic<bool>>(true);
    std::mt19937_64 rng{std::random_device{}()};

    asio::awaitable<void> loop(check_target t, clock::duration offset,
                               std::shared_ptr<std::atomic<bool>> alive);
};

asio::awaitable<void> checker::impl::loop(check_target t, clock::duration offset,
                                          std::shared_ptr<std::atomic<bool>> alive)
{
    const auto target = resolve(t.address, t.address.port);
    std::optional<protocol::endpoint> agent;
    if (t.agent_port && t.address.type == config::endpoint::kind::tcp)
        agent = resolve(t.address, *t.agent_port);
    asio::steady_timer wait(io);
    wait.expires_after(offset);
    busy_timeout busy(t.busy_window);
    for (;;) {
        co_await wait.async_wait(use_tuple);
        if (!*alive) co_return;
        if (agent) co_await run_agent(io, t, *agent);
        const auto began = clock::now();
        if (t.activity) busy.check_started(t.activity().answered, began);
        // Not a ?: around the co_await: GCC 12 miscompiles that inside coroutines.
        auto result = check_result::failed("cannot resolve " + t.address.text);
        if (!t.request_error.empty())
            result = check_result::failed(t.request_error);
        else if (target)
            result = co_await run_check(io, t, *target);
        if (result.timed_out && t.activity)
            result = busy.judge(std::move(result), t.activity(), clock::now());
        const std::chrono::duration<double> took = clock::now() - began;
        t.on_measured(metric_label(result.outcome), took.count());
        if (!*alive) co_return;
        t.on_check(result);
        wait.expires_after(next_check_delay(t.health.interval, t.health.jitter_percent, rng()));
    }
}

checker::checker() : impl_(std::make_shared<impl>()) {}

checker::~checker() { stop(); }

void checker::start()
{
    impl_->guard.emplace(asio::make_work_guard(impl_->io));
    impl_->thread = net::thread_without_stop_signals([self = impl_] { self->io.run(); });
}

void checker::set_targets(std::vector<check_target> targets)
{
    // A raw pointer: a handler still queued at stop() would otherwise keep the impl, and so the
    // io_context that holds the handler, alive for good (LeakSanitizer saw the cycle). The impl
    // outlives every run of the handler: ~checker joins the thread that runs them.
    asio::post(impl_->io, [self = impl_.get(), targets = std::move(targets)]() mutable {
        self->current_alive->store(false);
        self->current_alive = std::make_shared<std::atomic<bool>>(true);
        if (targets.empty()) return;
        const auto offsets = initial_check_offsets(targets.size(), targets.front().health.interval,
                                                   self->rng());
        for (std::size_t i = 0; i < targets.size(); ++i)
            asio::co_spawn(self->io,
                           self->loop(std::move(targets[i]), offsets[i], self->current_alive),
                           asio::detached);
    });
}

void checker::stop()
{
    if (!impl_->thread.joinable()) return;
    impl_->guard.reset();
    impl_->io.stop();
    impl_->thread.join();
}

}  // namespace sluice::health
