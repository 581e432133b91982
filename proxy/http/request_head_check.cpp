#include "proxy/http/request_head_check.hpp"

#include <boost/beast/http/rfc7230.hpp>

#include <algorithm>
#include <cstdint>

namespace sluice::proxy {

namespace {

constexpr std::string_view x_request_id = "X-Request-Id";

// RFC 9112 6.3: a request body is chunked only when chunked is the final transfer coding.
bool final_coding_is_chunked(std::string_view te)
{
    std::string_view last;
    for (auto token : http::token_list{te}) last = token;
    return boost::beast::iequals(last, "chunked");
}

// Printable and short: it goes into logs and to the backend as it is.
bool usable_request_id(boost::beast::string_view id)
{
    return !id.empty() && id.size() <= max_request_id &&
           std::all_of(id.begin(), id.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

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

request_facts inspect_request_head(const request_head& req)
{
    request_facts facts;
    unsigned cl = 0, te = 0;
    boost::beast::string_view cl_value, te_value;
    bool bad_id = false;
    for (const auto& f : req) {
        const auto value = f.value();
        switch (f.name()) {
        case http::field::content_length: ++cl, cl_value = value; break;
        case http::field::transfer_encoding: ++te, te_value = value; break;
        case http::field::host:
            if (facts.host.empty()) facts.host = {value.data(), value.size()};
            break;
        case http::field::expect:
            if (facts.expect.empty()) facts.expect = {value.data(), value.size()};
            break;
        default:
            if (!boost::beast::iequals(f.name_string(), x_request_id)) break;
            bad_id = bad_id || !usable_request_id(value);
            if (facts.request_id.empty()) facts.request_id = {value.data(), value.size()};
        }
    }
    if (bad_id) facts.request_id = {};
    if (cl > 0 && te > 0)
        facts.problem = head_problem::content_length_and_transfer_encoding;
    else if (cl > 1 || (cl == 1 && cl_value.find(',') != boost::beast::string_view::npos))
        facts.problem = head_problem::duplicate_content_length;
    else if (te > 0 && !final_coding_is_chunked(te_value))
        facts.problem = head_problem::transfer_encoding_not_chunked;
    else if (bad_id)
        facts.problem = head_problem::bad_request_id;
    return facts;
}

bool has_obs_fold(std::string_view raw_head)
{
    // A line that starts with a space or tab right after a line break continues the previous one.
    for (auto pos = raw_head.find('\n'); pos != std::string_view::npos && pos + 1 < raw_head.size();
         pos = raw_head.find('\n', pos + 1)) {
        const char next = raw_head[pos + 1];
        if (next == ' ' || next == '\t') return true;
    }
    return false;
}

void limit_request_parser(request_parser& p, const config::limits& limits)
{
    p.header_limit(
        static_cast<std::uint32_t>(std::min<std::uint64_t>(limits.max_header, UINT32_MAX)));
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
    if (ec == http::error::header_limit) return head_too_large(n);
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
