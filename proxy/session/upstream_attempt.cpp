// The steps of one attempt at a server over HTTP: connect, send the request (head and streamed
// body), receive the response head. Each step arms its socket's deadline at the earlier of its
// own timeout and the request's deadline, and says how it ended; forward() decides the rest.
#include "proxy/session/upstream_attempt.hpp"

#include "proxy/http/message_head.hpp"
#include "proxy/http/response_head_read.hpp"
#include "proxy/session/body_relay.hpp"
#include "proxy/session/ring_read.hpp"
#include "proxy/session/upstream_failure.hpp"

#include "net/accepted_socket.hpp"
#include "net/proxy_protocol.hpp"
#include "net/read_readiness.hpp"
#include "net/socket_address.hpp"

#include <boost/asio/post.hpp>

#include <cstdlib>
#include <tuple>

namespace sluice::proxy {

namespace {

attempt_end failed_read_end(const upstream_connection& u, const response_parser& rp,
                            const error_code& ec, bool interim_seen, const op_limit& limit)
{
    if (u.deadline.expired())
        return limit.is_request_deadline ? attempt_end::request_timeout
                                         : attempt_end::server_timeout;
    if (u.buffer.size() == 0 && !rp.got_some() && !interim_seen) return attempt_end::empty_response;
    return is_protocol_error(ec) ? attempt_end::not_http : attempt_end::reset;
}

// Reads until `rp` has the whole response head, with the errors Beast's async_read_header gives,
// but without its two layers of composed operations around each read.
awaitable<error_code> read_response_head(net::io_ring& ring, upstream_connection& u,
                                         response_parser& rp)
{
    for (bool emptied = false;;) {
        if (u.buffer.size() > 0) {
            const auto ec = put_response_head(rp, u.buffer);
            // Behind TLS the channel notes it for the records it reads.
            if (!ec && !u.tls && holds_the_rest(rp, u.buffer.size()))
                net::note_message_end(u.socket, emptied);
            if (ec != http::error::need_more) co_return ec;
        }
        const auto spare = u.buffer.capacity() - u.buffer.size();
        auto space = u.buffer.prepare(
            std::max<std::size_t>(512, std::min<std::size_t>(spare, 65536)));
        // Just after the request went out: usually no recv until the server has answered.
        auto [ec, n] = co_await read_stream(ring, upstream_stream(u), u.deadline, space);
        emptied = n < space.size();
        u.buffer.commit(n);
        if (ec == asio::error::eof) {
            if (!rp.got_some()) co_return http::error::end_of_stream;
            rp.put_eof(ec);
            co_return ec;
        }
        if (ec) co_return ec;
    }
}

// A request whose body the proxy holds: the head and the body from the store. Nothing is lost
// with a failed write, so the body can go again on a retry.
awaitable<attempt_state> send_stored_request(client_connection& c, exchange& x,
                                             upstream_connection& u)
{
    std::string head = c.w.take_text_buffer();
    write_head(x.request().base(), x.upstream_edits, head);
    auto sent = co_await write_stored(c.w, head, *x.body,
                                      {upstream_stream(u), nullptr, u.deadline, x.timeouts.server});
    c.w.give_back(std::move(head));
    attempt_state st;
    st.ec = sent.ec;
    if (sent.failed != relay_result::failure::none)
        st.end = sent.timed_out ? attempt_end::server_timeout : attempt_end::empty_response;
    st.write_failed = sent.failed == relay_result::failure::write && !sent.timed_out;
    co_return st;
}

}  // namespace

bool is_protocol_error(const error_code& ec)
{
    return ec.category() == make_error_code(http::error::bad_version).category() &&
           ec != http::error::end_of_stream && ec != http::error::partial_message &&
           ec != http::error::need_more && ec != http::error::header_limit;
}

void pause_deadline_for_body(exchange& x, clock::time_point began, const relay_result& r)
{
    if (r.bytes_read > 0 && x.deadline != clock::time_point::max())
        x.deadline += coarse_now() - began;
}

op_limit limit_for(const exchange& x, clock::duration timeout)
{
    const auto own = coarse_now() + timeout;
    return x.deadline < own ? op_limit{x.deadline, true} : op_limit{own, false};
}

awaitable<void> send_continue(client_connection& c, exchange& x)
{
    if (!continue_due(x)) co_return;
    static constexpr std::string_view continue_100 = "HTTP/1.1 100 Continue\r\n\r\n";
    x.expect_continue = false;
    c.deadline.arm(x.timeouts.client_idle);
    co_await net::write_all(client_stream(c), asio::buffer(continue_100));
    c.deadline.disarm();
    // The interim answer put the socket back to delaying its ACKs, and a client with Nagle on
    // holds each small piece of its body until the one before is acknowledged.
    net::acknowledge_now(c.socket);
}

std::string_view proxied_client_key(const client_connection& c)
{
    return c.client_ip.empty() ? std::string_view("unix") : std::string_view(c.client_ip);
}

namespace {

// Whom a PROXY header to a server names: the client (the address a PROXY header in front
// carried, if any) and the address it reached; LOCAL for a unix-socket client.
net::proxy_header carried_client(const client_connection& c)
{
    std::string port, local_ip, local_port;
    if (c.origin) {
        port = c.origin->port, local_ip = c.origin->local_ip, local_port = c.origin->local_port;
    } else {
        error_code ec;
        port = net::host_and_port(c.socket.remote_endpoint(ec), ec).second;
        std::tie(local_ip, local_port) = net::host_and_port(c.socket.local_endpoint(ec), ec);
    }
    const auto number = [](const std::string& text) {
        return static_cast<std::uint16_t>(std::strtoul(text.c_str(), nullptr, 10));
    };
    net::proxy_header h;
    h.local = !net::to_proxy_address(c.client_ip, number(port), h.source) ||
              !net::to_proxy_address(local_ip, number(local_port), h.destination);
    return h;
}

}  // namespace

void free_idle_elsewhere(client_connection& c, exchange& x, std::size_t server)
{
    auto& s = x.backend->server(server);
    std::size_t idle = 0;
    for (const auto& pool : s.pools) idle += pool.idle_count();
    if (idle == 0) return;  // the common case, without the slot table's lock
    const auto load = x.backend->slots().inspect(
        [server](const request_queue& q) { return q.server(server); });
    if (!idle_holds_workers(load.in_flight, load.max_connections, idle)) return;
    for (auto* w : c.w.siblings) {
        if (w == &c.w || s.pools[w->index].idle_count() == 0) continue;
        // The snapshot keeps the backend's records alive until the other thread has run this.
        asio::post(w->io, [snap = x.snap, &s, index = w->index] { s.pools[index].drop_oldest(); });
        return;
    }
}

// A new connection: the client's PROXY header first when the server takes one (the connection is
// then kept for that client's requests only), then TLS when the server has it.
awaitable<attempt_state> connect_to(client_connection& c, exchange& x, server_runtime& s,
                                    std::unique_ptr<upstream_connection>& u)
{
    attempt_state st;
    u = std::make_unique<upstream_connection>(c.w.io, c.w.sweeper);
    u->tls_generation = s.tls_generation.load(std::memory_order_acquire);  // before `tls`
    upstream_connection::opening how{{}, s.tls.load()};
    if (const auto v = s.send_proxy.load(std::memory_order_relaxed);
        v != config::proxy_protocol::off) {
        how.proxy_header = net::write_proxy_header(carried_client(c),
                                                   v == config::proxy_protocol::v2);
        u->proxied_for = proxied_client_key(c);
    }
    const auto began = clock::now();
    const auto limit = limit_for(x, x.timeouts.connect);
    st.ec = co_await u->connect(s.endpoint, limit.at - began, std::move(how));
    x.rec.connect_ms += ms_since(began);
    if (st.ec == asio::error::timed_out)
        st.end = limit.is_request_deadline ? attempt_end::request_timeout
                                           : attempt_end::connect_timeout;
    else if (!u->tls_failure.empty())
        st.end = attempt_end::tls_failed;
    else if (st.ec)
        st.end = attempt_end::connect_failed;
    co_return st;
}

awaitable<attempt_state> send_http_request(client_connection& c, exchange& x,
                                           upstream_connection& u)
{
    attempt_state st;
    if (x.body) {
        co_return co_await send_stored_request(c, x, u);
    }
    if (continue_due(x)) co_await send_continue(c, x);
    const auto began = coarse_now();
    auto sent = co_await relay_message<true>(
        c.w, *x.parser, x.upstream_edits, x.parser->chunked(),
        {client_stream(c), &c.buffer, c.deadline, x.timeouts.client_body},
        {upstream_stream(u), nullptr, u.deadline, x.timeouts.server}, nullptr);
    x.rec.bytes_in += sent.bytes_read;
    st.body_sent = sent.bytes_read > 0;
    pause_deadline_for_body(x, began, sent);
    st.ec = sent.ec;
    if (sent.failed == relay_result::failure::read) {
        co_await fail_request_body(c, x, sent);
        st.end = attempt_end::client_failed;
    } else if (sent.failed == relay_result::failure::write) {
        st.end = sent.timed_out ? attempt_end::server_timeout
                 : st.body_sent ? attempt_end::reset
                                : attempt_end::empty_response;
        st.write_failed = !sent.timed_out;
    }
    co_return st;
}

awaitable<attempt_state> receive_head(client_connection& c, exchange& x, upstream_connection& u,
                                      std::optional<response_parser>& rp)
{
    attempt_state st;
    const auto sent_at = clock::now();
    for (bool interim_seen = false;; interim_seen = true) {
        // After a 1xx the heads come from the heap, freed with each parser: the arena frees
        // nothing before the request ends, and a server may send any number of 1xx heads.
        const auto alloc = interim_seen ? header_allocator() : header_allocator(&x.arena);
        rp.emplace(std::piecewise_construct, std::make_tuple(), std::make_tuple(alloc));
        prepare_response_parser(*rp, x.request().method() == http::verb::head);
        const auto limit = limit_for(x, x.timeouts.server);
        u.deadline.arm_at(limit.at);
        auto ec = co_await read_response_head(c.w.ring, u, *rp);
        u.deadline.disarm();
        if (ec) {
            st.ec = ec;
            st.end = failed_read_end(u, *rp, ec, interim_seen, limit);
            st.waited = clock::now() - sent_at;
            co_return st;
        }
        const auto status = rp->get().result_int();
        if (status < 100 || status >= 200 || status == 101) break;
    }
    x.rec.response_ms = ms_since(sent_at);
    co_return st;
}

}  // namespace sluice::proxy
