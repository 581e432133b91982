#include "proxy/http/hop_by_hop.hpp"

#include <boost/beast/http/rfc7230.hpp>

#include <algorithm>
#include <charconv>
#include <optional>
#include <vector>

namespace sluice::proxy {

namespace {

constexpr std::string_view via_token = "1.1 sluice";
constexpr std::string_view x_forwarded_for = "X-Forwarded-For";
constexpr std::string_view x_forwarded_proto = "X-Forwarded-Proto";
constexpr std::string_view x_request_id = "X-Request-Id";
constexpr std::string_view via = "Via";
constexpr std::string_view connection = "Connection";

// RFC 9112 6.3: a request body is chunked only when chunked is the final transfer coding.
bool final_coding_is_chunked(std::string_view te)
{
    std::string_view last;
    for (auto token : http::token_list{te})
        last = token;
    return boost::beast::iequals(last, "chunked");
}

// Headers named in Connection are hop-by-hop too, whatever they are. The standard hop-by-hop
// headers are left out by the edits as the head is written; these few are erased here.
void erase_connection_listed(fields& f, bool keep_upgrade)
{
    std::vector<std::string> listed;
    for (const auto& field : f) {
        if (field.name() != http::field::connection)
            continue;
        const auto value = field.value();
        if (boost::beast::iequals(value, "keep-alive") || boost::beast::iequals(value, "close"))
            continue;  // the usual value, and nothing listed in it
        for (auto token : http::token_list{value}) {
            const bool framing = boost::beast::iequals(token, "transfer-encoding") ||
                                 boost::beast::iequals(token, "content-length");
            const bool kept = keep_upgrade && boost::beast::iequals(token, "upgrade");
            if (!framing && !kept && !boost::beast::iequals(token, "close") &&
                !boost::beast::iequals(token, "keep-alive"))
                listed.emplace_back(token);
        }
    }
    for (const auto& name : listed)
        f.erase(name);
}

// A plain count of milliseconds; more than 12 digits (30 years) is not a deadline.
std::optional<std::chrono::milliseconds> parse_milliseconds(std::string_view text)
{
    if (text.empty() || text.size() > 12)
        return std::nullopt;
    std::int64_t value = 0;
    for (char c : text) {
        if (c < '0' || c > '9')
            return std::nullopt;
        value = value * 10 + (c - '0');
    }
    return std::chrono::milliseconds(value);
}

// Printable and short: it goes into logs and to the backend as it is.
bool usable_request_id(boost::beast::string_view id)
{
    return !id.empty() && id.size() <= max_request_id &&
           std::all_of(id.begin(), id.end(), [](char c) { return c > 0x20 && c < 0x7f; });
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
            if (facts.host.empty())
                facts.host = {value.data(), value.size()};
            break;
        case http::field::expect:
            if (facts.expect.empty())
                facts.expect = {value.data(), value.size()};
            break;
        default:
            if (!boost::beast::iequals(f.name_string(), x_request_id))
                break;
            bad_id = bad_id || !usable_request_id(value);
            if (facts.request_id.empty())
                facts.request_id = {value.data(), value.size()};
        }
    }
    if (bad_id)
        facts.request_id = {};
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
        if (next == ' ' || next == '\t')
            return true;
    }
    return false;
}

void prepare_upstream_request(request_head& req, const forward_context& ctx, head_edits& edits)
{
    erase_connection_listed(req, ctx.upgrade);
    edits.keep_upgrade = ctx.upgrade;
    req.version(11);
    if (ctx.upgrade)
        edits.set(connection, "upgrade");
    if (!ctx.client_ip.empty())
        edits.append(req, x_forwarded_for, ctx.client_ip);
    if (req.find(x_forwarded_proto) == req.end())
        edits.set(x_forwarded_proto, "http");
    edits.append(req, via, via_token);
    edits.set(x_request_id, ctx.request_id);
}

bool prepare_client_response(response_head& res, unsigned client_version, bool keep_alive,
                             bool upgrade, bool chunked, head_edits& edits)
{
    erase_connection_listed(res, upgrade);
    edits.keep_upgrade = upgrade;
    edits.append(res, via, via_token);
    if (upgrade) {
        edits.set(connection, "upgrade");
        return keep_alive;
    }
    if (client_version < 11 && chunked) {
        // HTTP/1.0 has no chunked coding: the end of the body is the end of the connection.
        res.erase(http::field::transfer_encoding);
        keep_alive = false;
    }
    res.version(11);
    if (!keep_alive)
        edits.set(connection, "close");
    else if (client_version < 11)
        edits.set(connection, "keep-alive");  // 1.0 closes unless told otherwise
    return keep_alive;
}

bool is_idempotent(http::verb method)
{
    switch (method) {
    case http::verb::get: case http::verb::head: case http::verb::options:
    case http::verb::trace: case http::verb::put: case http::verb::delete_:
        return true;
    default:
        return false;
    }
}

std::chrono::milliseconds request_budget(const request_head& req,
                                         std::string_view header,
                                         std::chrono::milliseconds configured)
{
    if (header.empty())
        return configured;
    auto budget = configured;
    auto [first, last] = req.equal_range(header);
    for (auto it = first; it != last; ++it)
        if (auto asked = parse_milliseconds(it->value()))
            budget = std::min(budget, *asked);
    return budget;
}

void set_deadline_header(head_edits& edits, std::string_view header,
                         std::chrono::milliseconds remaining)
{
    char text[24];
    auto [end, ec] = std::to_chars(text, text + sizeof text,
                                   std::max<std::int64_t>(remaining.count(), 0));
    edits.set(header, std::string_view(text, static_cast<std::size_t>(end - text)));
}

}  // namespace sluice::proxy
