#pragma once
// How the proxy parses a server's response head: the parser's settings and the step over the
// bytes read so far. Apart from the socket loop (upstream_attempt.cpp) so that a fuzzer runs the
// same path (tests/fuzz/response_head).

#include "proxy/http/message_parsers.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/system/error_code.hpp>

namespace sluice::proxy {

// A server's head may be larger than a client's (cookies, CSP), but not without bound; its body
// has no limit, since it streams through. The response to HEAD has no body whatever it says.
constexpr std::uint32_t max_response_head = 256 * 1024;
void prepare_response_parser(response_parser& p, bool head_request);

// Parses what `in` holds of the head and drops it from `in`: no error once the head is whole,
// need_more while it is not, or the parse error (bad_status for a status below 100).
boost::system::error_code put_response_head(response_parser& p, boost::beast::flat_buffer& in);

}  // namespace sluice::proxy
