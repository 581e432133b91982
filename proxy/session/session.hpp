#pragma once
// Internal to the client session's .cpp files: the state of one client connection and of the
// request it is serving. Heavy (Beast); include it from no other header.

#include "net/stream_ref.hpp"
#include "proxy/backend/upstream_connection.hpp"
#include "proxy/http/body_store.hpp"
#include "proxy/http/head_edits.hpp"
#include "proxy/http/message_parsers.hpp"
#include "proxy/http/request_head_check.hpp"
#include "proxy/log/access_record.hpp"
#include "proxy/runtime/snapshot.hpp"
#include "proxy/runtime/worker.hpp"
#include "proxy/session/client_session.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <array>
#include <functional>
#include <memory_resource>
#include <optional>

namespace sluice::proxy {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable_t<executor_type>{});

struct client_connection {
    client_connection(worker& w, socket_type s, std::shared_ptr<connection_owner> owner,
                      std::string client_ip);
    ~client_connection();

    worker& w;
    socket_type socket;
    beast::flat_buffer buffer;
    // An idle keep-alive connection is this object alone (its socket waits in the worker's
    // idle_set), so its size is what thousands of idle clients cost: no_unique_address lets the
    // small fields below live in the deadline's tail padding.
    [[no_unique_address]] struct deadline deadline;
    std::uint8_t version = 11;  // of the request being served
    bool keep_alive = true;
    bool emptied = false;   // its last read got less than it asked for (net/read_readiness.hpp)
    bool reused = false;    // it served a request before the current one
    bool sent_end = false;  // its FIN has gone (end_sending)
    std::shared_ptr<connection_owner> owner;  // the listener
    std::string client_ip;                    // "" for unix-socket clients
    std::unique_ptr<client_origin> origin;    // set behind the TLS front
};

// tcmalloc's size classes go 192, 208, 224: 8 bytes more cost every idle client 16.
static_assert(sizeof(client_connection) <= 208, "an idle client connection outgrew its size class");

// Sends the client this side's end (TLS's close_notify, then a FIN) at once, after the last
// response on the connection; the socket closes when the connection object goes.
void end_sending(client_connection& c);
// Serves requests on `c` while they come, and between them has it wait (client_wait.hpp).
awaitable<void> serve(std::unique_ptr<client_connection> c);

// As end_sending, but behind TLS a close_notify the socket cannot take at once waits for it,
// within `timeout`, rather than being lost: a slow reader's stream still ends cleanly.
awaitable<void> end_sending_whole(client_connection& c, clock::duration timeout);

// The client's stream: its socket, through TLS behind a TLS listener.
inline net::stream_ref client_stream(client_connection& c)
{
    return {c.socket, c.origin ? c.origin->tls.get() : nullptr};
}

// The server's stream: its socket, through TLS when the server has `tls`.
inline net::stream_ref upstream_stream(upstream_connection& u) { return {u.socket, u.tls.get()}; }

// One request, from its head to the last byte of its response.
struct exchange {
    std::shared_ptr<const snapshot> snap;
    const listener_view* listener = nullptr;
    backend_runtime* backend = nullptr;
    const config::backend* backend_config = nullptr;  // of this request's snapshot
    config::timeouts timeouts;
    // Where the header lines of the request and of its response live (message_types.hpp); a
    // head too big for the inline part spills to the heap. Declared before the parser, which
    // must go first.
    std::array<std::byte, 4096> arena_space;
    std::pmr::monotonic_buffer_resource arena{arena_space.data(), arena_space.size()};
    std::optional<request_parser> parser;
    request_facts facts;                                  // of the parsed head (check_request_head)
    head_edits upstream_edits{header_allocator(&arena)};  // the request's, for the backend
    access_record rec;
    clock::time_point start;
    // The overall deadline (timeouts.request, derived from the chain when 0, shortened by the
    // client's deadline header): it bounds every wait for the server until its response head.
    clock::time_point deadline = clock::time_point::max();
    // The client's X-Request-Id or a generated one, held here: no allocation per request.
    std::array<char, max_request_id> request_id_text;
    std::string_view request_id;
    // The request body when it was read whole before the request asked for a slot (buffering,
    // or a chunked body for uwsgi, whose packet must carry the length); sent from here, so a
    // retry can send it again.
    std::optional<body_store> body;
    bool expect_continue = false;
    bool upgrade = false;
    bool asked_for_slot = false;  // its queue wait counts in sluice_queue_wait_seconds
    bool left_queue = false;      // the client left while it waited for a slot

    request_parser::value_type& request() { return parser->get(); }
};

// Milliseconds from `t` to now, for the access log.
double ms_since(clock::time_point t);

}  // namespace sluice::proxy
