#pragma once
// Header rewriting between the hops: what a request carries to the backend and what a
// response carries back. Hop-by-hop headers stop here (RFC 9110 7.6.1); message framing
// (Content-Length, Transfer-Encoding) is kept, because the serializer re-frames the body as it
// streams it through.

#include "proxy/http/head_edits.hpp"
#include "proxy/http/message_types.hpp"

#include <chrono>
#include <string>
#include <string_view>

namespace sluice::proxy {

struct forward_context {
    std::string_view client_ip;   // "" for a unix-socket client
    std::string_view request_id;  // already chosen: the client's or a generated one
    bool upgrade = false;         // the request asks to switch protocols (WebSocket)
};

// Problems a request head can have that Beast's parser lets through. SPEC.md "Hardening".
enum class head_problem { none, content_length_and_transfer_encoding, duplicate_content_length,
                          transfer_encoding_not_chunked, bad_request_id };

// What the proxy needs from a request head, found in one pass over its fields: a lookup by name
// walks Beast's name index, one case-insensitive compare per step.
struct request_facts {
    head_problem problem = head_problem::none;
    std::string_view host;
    std::string_view expect;
    std::string_view request_id;  // the client's X-Request-Id when usable (printable, short)
};

request_facts inspect_request_head(const request_head& req);

// True when `raw_head` (the bytes of a request head up to and including the blank line)
// continues a header line on the next one (obs-fold, RFC 9112 5.2), which a proxy must reject.
bool has_obs_fold(std::string_view raw_head);

// The longest X-Request-Id kept from a client; a longer one is replaced.
constexpr std::size_t max_request_id = 200;

// Makes `req` ready for the backend, mostly through `edits`: strips hop-by-hop headers, sets
// HTTP/1.1 keep-alive (or the upgrade), X-Forwarded-For/-Proto, Via and X-Request-Id.
void prepare_upstream_request(request_head& req, const forward_context& ctx, head_edits& edits);

// Makes `res` ready for the client, mostly through `edits`: strips hop-by-hop headers, sets
// keep-alive or close, and falls back from chunked to close-delimited for HTTP/1.0 clients.
// `chunked`: the body is chunked (as the parser saw it, or made so by the caller). Returns
// whether the client connection stays open after this response.
bool prepare_client_response(response_head& res, unsigned client_version, bool keep_alive,
                             bool upgrade, bool chunked, head_edits& edits);

bool is_idempotent(http::verb method);

// The deadline header (backend `deadline_header`, "" = off): milliseconds of budget left.
// A request's budget is `configured`, shortened by the smallest well-formed value (digits only)
// of that header from the client, never lengthened: a client may ask for less time, not more.
// With the header off, the client's header is the app's business and the budget is `configured`.
std::chrono::milliseconds request_budget(const request_head& req,
                                         std::string_view header,
                                         std::chrono::milliseconds configured);

// Replaces the client's value with what is left of the budget when the request is sent (after
// its queue wait), rounded down and never below 0.
void set_deadline_header(head_edits& edits, std::string_view header,
                         std::chrono::milliseconds remaining);

}  // namespace sluice::proxy
