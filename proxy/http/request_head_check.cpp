#include "proxy/http/request_head_check.hpp"

#include <algorithm>
#include <cstdint>

namespace sluice::proxy {

namespace {

head_check refused(http::status status, std::string_view reason, std::string_view message,
                   std::size_t consumed = 0)
{
    head_check c;
    c.result = head_check::verdict::refused;
    c.consumed = consumed;
    c.status = status;
    c.reason = reason;
    c.message = message;
    return c;
}

head_check head_too_large(std::size_t consumed = 0)
{
    return refused(http::status::request_header_fields_too_large, "header_too_large",
                   "request head too large", consumed);
}

}  // namespace

void limit_request_parser(request_parser& p, const config::limits& limits)
{
    p.header_limit(static_cast<std::uint32_t>(std::min<std::uint64_t>(limits.max_header,
                                                                      UINT32_MAX)));
    p.chunked_body_limit(limits.max_body);
}

head_check check_request_head(request_parser& p, std::string_view buffered,
                              const config::limits& limits)
{
    const auto end = buffered.find("\r\n\r\n");
    if (end == std::string_view::npos)
        return buffered.size() > limits.max_header ? head_too_large() : head_check{};
    if (has_obs_fold(buffered.substr(0, end + 2)))
        return refused(http::status::bad_request, "bad_request",
                       "obsolete line folding in a header");
    boost::system::error_code ec;
    const auto n = p.put(boost::asio::const_buffer(buffered.data(), buffered.size()), ec);
    if (ec == http::error::header_limit)
        return head_too_large(n);
    if (ec && ec != http::error::need_more) {
        auto c = refused(http::status::bad_request, "bad_request", {}, n);
        c.parse_error = ec;
        return c;
    }
    if (!p.is_header_done())
        // The head is whole, yet the parser asks for more: a request line cut short (Beast reads
        // "GET / : a\r\n\r\n" as a version still arriving), which no more bytes can mend.
        return refused(http::status::bad_request, "bad_request", "malformed request line", n);
    if (const auto length = p.content_length(); length && *length > limits.max_body)
        return refused(http::status::payload_too_large, "body_too_large",
                       "request body larger than limits.max_body", n);
    head_check c;
    c.consumed = n;
    c.facts = inspect_request_head(p.get());
    if (c.facts.problem != head_problem::none)
        return refused(http::status::bad_request, "bad_request",
                       c.facts.problem == head_problem::bad_request_id
                           ? "unusable X-Request-Id"
                           : "conflicting or invalid message framing",
                       n);
    c.result = head_check::verdict::accepted;
    return c;
}

}  // namespace sluice::proxy
