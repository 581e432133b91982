#pragma once
// The byte-level decision on a client's request head: not complete yet, accepted, or refused
// with 400, 413 or 431 and why. Kept apart from the socket loop that reads the bytes
// (client_session.cpp) so that a fuzzer runs this very path (tests/fuzz/request_head). The checks
// Beast's parser leaves to us are SPEC.md "Hardening".

#include "config/model.hpp"
#include "proxy/http/message_parsers.hpp"

#include <boost/beast/http/status.hpp>
#include <boost/system/error_code.hpp>

#include <string_view>

namespace sluice::proxy {

// Problems a request head can have that Beast's parser lets through.
enum class head_problem {
    none,
    content_length_and_transfer_encoding,
    duplicate_content_length,
    transfer_encoding_not_chunked,
    bad_request_id
};

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

struct head_check {
    enum class verdict { need_more, accepted, refused };
    verdict result = verdict::need_more;
    std::size_t consumed = 0;  // bytes the parser took: the caller drops them from its buffer
    // When refused: the status, the access log's reason and the reply's text; a parse error
    // leaves `message` empty and says it in `parse_error`.
    http::status status = http::status::bad_request;
    std::string_view reason;
    std::string_view message;
    boost::system::error_code parse_error;
    request_facts facts;  // when accepted
};

// Sets the listener's limits on a fresh parser: its header limit gives 431, its body limit 413
// (a Content-Length in check_request_head, a chunked body chunk by chunk as it is read).
void limit_request_parser(request_parser& p, const config::limits& limits);

// Checks the request head at the start of `buffered` (what the client has sent so far) with
// `p`, which limit_request_parser set up and which keeps the parsed head. Beast's parser
// silently joins obs-folded lines, which a proxy must reject (RFC 9112 5.2), so the raw bytes are
// checked for those first; inspect_request_head then applies the checks Beast leaves to us.
head_check check_request_head(request_parser& p, std::string_view buffered,
                              const config::limits& limits);

}  // namespace sluice::proxy
