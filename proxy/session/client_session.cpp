#include "proxy/session/client_session.hpp"

#include "proxy/session/client_wait.hpp"
#include "proxy/session/proxy_header_read.hpp"
#include "proxy/session/ring_read.hpp"
#include "proxy/session/tls_front.hpp"

#include "config/timeout_chain.hpp"
#include "net/accepted_socket.hpp"
#include "net/read_readiness.hpp"
#include "net/socket_address.hpp"
#include "proxy/http/deadline_header.hpp"
#include "proxy/http/request_head_check.hpp"
#include "proxy/log/event_log.hpp"
#include "proxy/session/forward.hpp"
#include "proxy/session/lingering_close.hpp"
#include "proxy/session/local_reply.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <algorithm>
#include <chrono>
#include <tuple>
#include <utility>

namespace sluice::proxy {

namespace {

enum class head_result { ok, closed, failed };

// The access record and the connection learn the request line as soon as it is parsed, so a
// head refused after it (framing, X-Request-Id) is logged with its method and path.
void note_request_line(client_connection& c, exchange& x)
{
    const auto& req = x.request();
    x.rec.method = {req.method_string().data(), req.method_string().size()};
    x.rec.path = {req.target().data(), req.target().size()};
    c.version = static_cast<std::uint8_t>(req.version());  // Beast reads one digit a side: <= 99
}

// What has arrived from the client, once some has (the TLS channel's read_some takes what has
// arrived before it waits).
awaitable<net::io_result> read_client(client_connection& c, asio::mutable_buffer space)
{
    return read_stream(c.w.ring, client_stream(c), c.deadline, space);
}

// Reads a request head by hand rather than with http::async_read_header, to see the raw bytes
// (check_request_head says why); the decision on them is check_request_head's.
awaitable<head_result> read_head(client_connection& c, exchange& x)
{
    const auto& limits = x.listener->config->limits;
    c.deadline.arm(x.timeouts.client_header);
    for (bool acked = false;;) {
        if (c.buffer.size() > 0) {
            const auto check = check_request_head(
                *x.parser, {static_cast<const char*>(c.buffer.data().data()), c.buffer.size()},
                limits);
            c.buffer.consume(check.consumed);
            x.rec.bytes_in += check.consumed;
            if (x.parser->is_header_done()) note_request_line(c, x);
            if (check.result == head_check::verdict::accepted) {
                x.facts = check.facts;
                // Once: after this request, the event loop runs before the next head is parsed.
                const bool emptied = std::exchange(c.emptied, false);
                if (body_to_come(*x.parser, {static_cast<const char*>(c.buffer.data().data()),
                                             c.buffer.size()}))
                    net::acknowledge_now(c.socket);  // the body may wait for the head's ACK
                // Behind TLS the channel notes it for the records it reads.
                else if (!client_stream(c).tls && holds_the_rest(*x.parser, c.buffer.size()))
                    net::note_message_end(c.socket, emptied);
                co_return head_result::ok;
            }
            if (check.result == head_check::verdict::refused) {
                // Named, not a temporary in the co_await: GCC 12 destroys a temporary std::string
                // from a conditional expression there twice (ASan saw the double free).
                const auto message = check.message.empty() ? check.parse_error.message()
                                                           : std::string(check.message);
                co_await send_local_reply(c, x, check.status, check.reason, message);
                co_return head_result::failed;
            }
        }
        if (c.buffer.size() > 0 && !std::exchange(acked, true))
            net::acknowledge_now(c.socket);  // a head cut in two: its rest may wait for the ACK
        auto space = c.buffer.prepare(
            std::max<std::size_t>(4096, c.buffer.capacity() - c.buffer.size()));
        auto [ec, n] = co_await read_client(c, space);
        c.emptied = n < space.size();
        c.buffer.commit(n);
        if (ec) {
            if (c.deadline.expired()) {
                co_await send_local_reply(c, x, http::status::request_timeout, "client_timeout",
                                          "request head not received in time");
                co_return head_result::failed;
            }
            if (c.buffer.size() == 0) co_return head_result::closed;
            x.rec.reason = "client_gone";
            co_return head_result::failed;
        }
    }
}

// Prepares `x` for a new request on `c`; false when the listener is gone after a reload.
bool begin_exchange(client_connection& c, exchange& x)
{
    x.snap = c.w.current;
    x.listener = x.snap->find_listener(c.owner->name());
    if (!x.listener) return false;
    x.timeouts = x.snap->config.timeouts;
    x.parser.emplace(std::piecewise_construct, std::make_tuple(),
                     std::make_tuple(header_allocator(&x.arena)));
    limit_request_parser(*x.parser, x.listener->config->limits);
    x.start = clock::now();
    x.rec.client = c.client_ip.empty() ? std::string_view("unix") : c.client_ip;
    x.rec.listener = x.listener->config->name;
    if (c.origin) {
        x.rec.tls_version = c.origin->tls_version;
        x.rec.sni = c.origin->sni;
    }
    return true;
}

// Routing and the request id; false when a local reply ended the request.
awaitable<bool> admit_request(client_connection& c, exchange& x)
{
    auto& req = x.request();
    const auto& facts = x.facts;
    auto id = facts.request_id;
    std::array<char, 16> generated;
    if (id.empty()) {
        generated = c.w.next_request_id();
        id = {generated.data(), generated.size()};
    }
    x.request_id = {x.request_id_text.data(), id.size()};
    std::copy(id.begin(), id.end(), x.request_id_text.begin());
    x.rec.request_id = x.request_id;
    request_head_view head{req.method_string(), facts.host, req.target()};
    const auto* route = x.listener->router.match(head);
    const backend_view* view = x.listener->default_backend;
    if (route) {
        view = x.listener->route_backends[static_cast<std::size_t>(
            route - x.listener->config->routes.data())];
        x.timeouts = config::apply(x.timeouts, route->timeouts);
    }
    x.backend = view->runtime.get();
    x.backend_config = view->config;
    x.rec.backend = view->config->name;
    x.deadline = x.start + request_budget(req, x.backend_config->deadline_header,
                                          config::derived_request_deadline(x.timeouts));
    auto cl = x.parser->content_length();
    if (cl && *cl > x.listener->config->limits.max_body) {
        co_await send_local_reply(c, x, http::status::payload_too_large, "body_too_large",
                                  "request body larger than the listener's limits.max_body");
        co_return false;
    }
    x.expect_continue = beast::iequals(facts.expect, "100-continue");
    if (x.expect_continue) req.erase(http::field::expect);
    x.upgrade = x.parser->upgrade();
    co_return true;
}

void record(client_connection& c, exchange& x)
{
    x.rec.total_ms = ms_since(x.start);
    health::request_sample sample{
        x.rec.listener,          x.rec.backend, x.rec.server, x.rec.status,
        x.rec.total_ms / 1000.0, std::nullopt,  x.rec.reason, x.left_queue};
    if (x.asked_for_slot) {
        sample.queue_wait_seconds = x.rec.queue_ms / 1000.0;
        x.backend->stats().record_queue_wait(x.rec.queue_ms);
    }
    if (x.rec.slot_ms > 0) sample.slot_hold_seconds = x.rec.slot_ms / 1000.0;
    c.w.metrics.record(sample);
    if (c.w.log) {
        // Read here rather than at the start: only a logged request pays for the wall clock.
        x.rec.time_unix_ms = unix_ms_now() - static_cast<std::int64_t>(x.rec.total_ms);
        c.w.log->write(to_json_line(x.rec));
    }
}

// What a connection does after an exchange.
enum class after_exchange { serve_next, close, linger };

awaitable<void> serve_one(client_connection& c, after_exchange& next)
{
    exchange x;
    next = after_exchange::close;
    if (!begin_exchange(c, x)) co_return;
    auto head = co_await read_head(c, x);
    c.deadline.disarm();
    if (head == head_result::closed) co_return;
    // Not `ok && co_await ...`: GCC 12 mishandles co_await inside a short-circuit operator.
    bool admitted = false;
    if (head == head_result::ok) admitted = co_await admit_request(c, x);
    if (admitted) {
        c.keep_alive = x.parser->keep_alive() && !c.w.draining;  // the parser's flag: no lookup
        co_await forward(c, x);
    }
    // An exchange still open when the worker shut down ended there, whatever it saw as it went:
    // one that had ended normally has a status and no reason.
    if (c.w.stopping && (x.rec.status == 0 || !x.rec.reason.empty())) note_cut_by_exit(x.rec);
    if (x.rec.status == 0)
        x.rec.status = 499;  // the client left before any status: nginx's "client closed request"
    record(c, x);
    if (c.keep_alive && head == head_result::ok)
        next = after_exchange::serve_next;
    else if (needs_linger(c, x))
        next = after_exchange::linger;
}

// Behind TLS, bytes of the next request may have come with the last one and wait in the
// channel, where no socket event will announce them again.
bool holds_input(client_connection& c)
{
    const auto* tls = client_stream(c).tls;
    return tls && tls->holds_input();
}

// A connection from a listener with defer_accept: the kernel handed it over once its first
// bytes had arrived, so read them at once and serve, without the light wait and its
// epoll_ctl. One that was handed over silent (after the kernel's second) waits as any other.
void serve_arrived(std::unique_ptr<client_connection> c)
{
    constexpr std::size_t first_read = 4096;
    error_code ec;
    const auto n = net::read_arrived(c->socket, c->buffer.prepare(first_read), ec);
    c->buffer.commit(n);
    c->emptied = n < first_read;
    if (!ec) {
        auto& io = c->w.io;
        asio::co_spawn(io, serve(std::move(c)), asio::detached);
        return;
    }
    if (ec != asio::error::would_block) return;  // reset or closed before a byte: done
    const auto idle = c->w.current->config.timeouts.client_idle;
    wait_idle(std::move(c), idle);
}

// The balancer sends its PROXY header as it connects: read it at once, then wait for requests
// as any connection does.
awaitable<void> serve_behind_balancer(std::unique_ptr<client_connection> c,
                                      config::proxy_protocol allowed)
{
    if (!co_await read_proxy_header(*c, allowed)) co_return;
    if (c->buffer.size() > 0) {
        co_await serve(std::move(c));
        co_return;
    }
    const auto idle = c->w.current->config.timeouts.client_idle;
    wait_idle(std::move(c), idle);
}

}  // namespace

// Serves requests while they come; between requests a connection that has served more than
// one waits hot, any other (and one that has gone quiet) goes back to the light wait_quiet.
awaitable<void> serve(std::unique_ptr<client_connection> c)
{
    for (;;) {
        auto next = after_exchange::close;
        co_await serve_one(*c, next);
        if (next == after_exchange::linger) co_await linger(*c);
        if (next != after_exchange::serve_next) co_return;
        const bool reused = std::exchange(c->reused, true);
        if (c->buffer.size() > 0 || holds_input(*c)) continue;
        clock::duration idle = c->w.current->config.timeouts.client_idle;
        if (reused && !c->w.draining) {
            const auto waited = co_await wait_hot(*c, idle);
            if (waited == hot_wait::data) continue;
            if (waited == hot_wait::closed) co_return;
            idle -= hot_period;
        }
        wait_quiet(std::move(c), idle);
        co_return;
    }
}

client_connection::client_connection(worker& w, socket_type s,
                                     std::shared_ptr<connection_owner> owner, std::string client_ip)
    : w(w), socket(std::move(s)), deadline(w.sweeper, socket), owner(std::move(owner)),
      client_ip(std::move(client_ip))
{
}

// This side closes first, with the FIN right behind the last response, before the client has
// read it: a client that closes first keeps a TIME_WAIT port for every connection, and its next
// connect(2) searches past them. Sent from the destructor, after the exchange's bookkeeping, it
// reached wrk after its close in one connection in six (bench/RESULTS.md, session 16).
void end_sending(client_connection& c)
{
    if (std::exchange(c.sent_end, true)) return;
    if (auto* tls = client_stream(c).tls) tls->close(c.socket);
    error_code ignored;
    c.socket.shutdown(socket_type::shutdown_send, ignored);  // a FIN, not a reset, for the client
}

awaitable<void> end_sending_whole(client_connection& c, clock::duration timeout)
{
    if (auto* tls = client_stream(c).tls; tls && !c.sent_end) {
        c.deadline.arm(timeout);
        co_await tls->close_when_sent(c.socket);
        c.deadline.disarm();
    }
    end_sending(c);
}

client_connection::~client_connection()
{
    end_sending(*this);
    error_code ignored;
    socket.close(ignored);
    owner->on_closed();
}

double ms_since(clock::time_point t)
{
    return std::chrono::duration<double, std::milli>(clock::now() - t).count();
}

void start_client_session(worker& w, socket_type socket, std::shared_ptr<connection_owner> owner,
                          std::string client_ip)
{
    const auto* l = w.current->find_listener(owner->name());
    if (l && l->tls) {
        start_tls_front(w, std::move(socket), std::move(owner), l->tls, l->config->proxy_protocol);
        return;
    }
    auto c = std::make_unique<client_connection>(w, std::move(socket), std::move(owner),
                                                 std::move(client_ip));
    error_code ec;
    // The relay's write_now must never block the thread. A socket accept4 made non-blocking
    // says so without an ioctl; TCP_NODELAY comes from the listening socket (net::listen_on).
    if (!c->socket.non_blocking()) c->socket.non_blocking(true, ec);
    if (ec) return;  // closes the connection, and tells the listener
    if (l && l->config->proxy_protocol != config::proxy_protocol::off) {
        asio::co_spawn(w.io, serve_behind_balancer(std::move(c), l->config->proxy_protocol),
                       asio::detached);
        return;
    }
    if (l && config::defers_accept(*l->config)) {
        serve_arrived(std::move(c));
        return;
    }
    wait_idle(std::move(c), w.current->config.timeouts.client_idle);
}

void start_client_session(worker& w, socket_type socket, std::shared_ptr<connection_owner> owner,
                          std::unique_ptr<client_origin> origin)
{
    auto c = std::make_unique<client_connection>(w, std::move(socket), std::move(owner),
                                                 origin->ip);
    c->origin = std::move(origin);
    error_code ec;
    if (!c->socket.non_blocking()) c->socket.non_blocking(true, ec);
    if (ec) return;
    // A request sent right behind the handshake is here already.
    if (holds_input(*c)) {
        asio::co_spawn(w.io, serve(std::move(c)), asio::detached);
        return;
    }
    wait_idle(std::move(c), w.current->config.timeouts.client_idle);
}

}  // namespace sluice::proxy
