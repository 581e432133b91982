#pragma once
// Header rewriting between the hops: what a request carries to the backend and what a
// response carries back. Hop-by-hop headers stop here (RFC 9110 7.6.1); message framing
// (Content-Length, Transfer-Encoding) is kept, because the serializer re-frames the body as it
// streams it through.

#include "proxy/http/head_edits.hpp"
#include "proxy/http/message_types.hpp"

#include <string_view>

namespace sluice::proxy {

struct forward_context {
    std::string_view client_ip;   // "" for a unix-socket client
    std::string_view request_id;  // already chosen: the client's or a generated one
    bool upgrade = false;         // the request asks to switch protocols (WebSocket)
    // The client is one of the listener's trusted_proxies: its X-Forwarded-For and
    // X-Forwarded-Proto are kept (and appended to); anyone else's are replaced, so a client
    // cannot pass off an address or https as the one the app sees.
    bool trusted = false;
    bool https = false;  // the client spoke TLS to this proxy
};

// Makes `req` ready for the backend, mostly through `edits`: strips hop-by-hop headers, sets
// HTTP/1.1 keep-alive (or the upgrade), X-Forwarded-For/-Proto, Via and X-Request-Id.
void prepare_upstream_request(request_head& req, const forward_context& ctx, head_edits& edits);

// Makes `res` ready for the client, mostly through `edits`: strips hop-by-hop headers, sets
// keep-alive or close, and falls back from chunked to close-delimited for HTTP/1.0 clients.
// `chunked`: the body is chunked (as the parser saw it, or made so by the caller). Returns
// whether the client connection stays open after this response.
bool prepare_client_response(response_head& res, unsigned client_version, bool keep_alive,
                             bool upgrade, bool chunked, head_edits& edits);

}  // namespace sluice::proxy
