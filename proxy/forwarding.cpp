#include "proxy/forwarding.hpp"

#include <boost/beast/http/rfc7230.hpp>

#include <algorithm>
#include <optional>
#include <vector>

namespace sluice::proxy {

namespace {

constexpr std::string_view via_token = "1.1 sluice";
constexpr std::string_view x_forwarded_for = "X-Forwarded-For";
constexpr std::string_view x_forwarded_proto = "X-Forwarded-Proto";
constexpr std::string_view x_request_id = "X-Request-Id";

// RFC 9112 6.3: a request body is chunked only when chunked is the final transfer coding.
bool final_coding_is_chunked(std::string_view te)
{
    std::string_view last;
    for (auto token : http::token_list{te})
        last = token;
    return boost::beast::iequals(last, "chunked");
}

bool is_hop_by_hop(const fields::value_type& f, bool keep_upgrade)
{
    switch (f.name()) {
    case http::field::connection: case http::field::keep_alive: case http::field::te:
    case http::field::trailer: case http::field::proxy_connection:
        return true;
    case http::field::upgrade:
        return !keep_upgrade;
    default:
        return false;
    }
}

// Headers named in Connection are hop-by-hop too, whatever they are. One pass over the fields
// finds what to strip; the common message has nothing to strip but Connection itself, so this
// avoids a lookup by name per hop-by-hop header.
void strip_hop_by_hop(fields& f, bool keep_upgrade)
{
    std::vector<std::string> listed;
    bool any = false;
    for (const auto& field : f) {
        if (!is_hop_by_hop(field, keep_upgrade))
            continue;
        any = true;
        if (field.name() != http::field::connection)
            continue;
        for (auto token : http::token_list{field.value()}) {
            const bool framing = boost::beast::iequals(token, "transfer-encoding") ||
                                 boost::beast::iequals(token, "content-length");
            const bool kept = keep_upgrade && boost::beast::iequals(token, "upgrade");
            if (!framing && !kept && !boost::beast::iequals(token, "close") &&
                !boost::beast::iequals(token, "keep-alive"))
                listed.emplace_back(token);
        }
    }
    if (!any)
        return;
    for (auto it = f.begin(); it != f.end();)
        it = is_hop_by_hop(*it, keep_upgrade) ? f.erase(it) : std::next(it);
    for (const auto& name : listed)
        f.erase(name);
}

template <class Name>
void append_list(fields& f, Name name, std::string_view value)
{
    auto it = f.find(name);
    if (it == f.end()) {
        f.set(name, value);
        return;
    }
    std::string joined(it->value());
    joined += ", ";
    joined += value;
    f.set(name, joined);
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

// One pass over the fields: a lookup by name per check would walk the name index each time.
head_problem check_request_head(const request_head& req)
{
    unsigned cl = 0, te = 0;
    boost::beast::string_view cl_value, te_value;
    bool bad_id = false;
    for (const auto& f : req) {
        switch (f.name()) {
        case http::field::content_length: ++cl, cl_value = f.value(); break;
        case http::field::transfer_encoding: ++te, te_value = f.value(); break;
        default:
            if (boost::beast::iequals(f.name_string(), x_request_id))
                bad_id = bad_id || !usable_request_id(f.value());
        }
    }
    if (cl > 0 && te > 0)
        return head_problem::content_length_and_transfer_encoding;
    if (cl > 1 || (cl == 1 && cl_value.find(',') != boost::beast::string_view::npos))
        return head_problem::duplicate_content_length;
    if (te > 0 && !final_coding_is_chunked(te_value))
        return head_problem::transfer_encoding_not_chunked;
    return bad_id ? head_problem::bad_request_id : head_problem::none;
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

std::string_view client_request_id(const request_head& req)
{
    auto id = req[x_request_id];
    return usable_request_id(id) ? std::string_view(id.data(), id.size()) : std::string_view{};
}

void prepare_upstream_request(request_head& req, const forward_context& ctx)
{
    strip_hop_by_hop(req, ctx.upgrade);
    req.version(11);
    if (ctx.upgrade)
        req.set(http::field::connection, "upgrade");
    if (!ctx.client_ip.empty())
        append_list(req, x_forwarded_for, ctx.client_ip);
    if (req.find(x_forwarded_proto) == req.end())
        req.set(x_forwarded_proto, "http");
    append_list(req, http::field::via, via_token);
    req.set(x_request_id, ctx.request_id);
}

void prepare_client_response(response_head& res, unsigned client_version,
                             bool keep_alive, bool upgrade)
{
    const bool chunked = final_coding_is_chunked(res[http::field::transfer_encoding]);
    strip_hop_by_hop(res, upgrade);
    append_list(res, http::field::via, via_token);
    if (upgrade) {
        res.set(http::field::connection, "upgrade");
        return;
    }
    if (client_version < 11 && chunked) {
        // HTTP/1.0 has no chunked coding: the end of the body is the end of the connection.
        res.erase(http::field::transfer_encoding);
        keep_alive = false;
    }
    res.version(11);
    if (!keep_alive)
        res.set(http::field::connection, "close");
    else if (client_version < 11)
        res.set(http::field::connection, "keep-alive");  // 1.0 closes unless told otherwise
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

void set_deadline_header(request_head& req, std::string_view header,
                         std::chrono::milliseconds remaining)
{
    req.set(header, std::to_string(std::max<std::int64_t>(remaining.count(), 0)));
}

}  // namespace sluice::proxy
