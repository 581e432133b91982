#include "proxy/http/hop_by_hop.hpp"

#include <boost/beast/http/rfc7230.hpp>

#include <string>
#include <vector>

namespace sluice::proxy {

namespace {

constexpr std::string_view via_token = "1.1 sluice";
constexpr std::string_view x_forwarded_for = "X-Forwarded-For";
constexpr std::string_view x_forwarded_proto = "X-Forwarded-Proto";
constexpr std::string_view x_request_id = "X-Request-Id";
constexpr std::string_view via = "Via";
constexpr std::string_view connection = "Connection";

// Headers named in Connection are hop-by-hop too, whatever they are. The standard hop-by-hop
// headers are left out by the edits as the head is written; these few are erased here.
void erase_connection_listed(fields& f, bool keep_upgrade)
{
    std::vector<std::string> listed;
    for (const auto& field : f) {
        if (field.name() != http::field::connection) continue;
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
    for (const auto& name : listed) f.erase(name);
}

}  // namespace

void prepare_upstream_request(request_head& req, const forward_context& ctx, head_edits& edits)
{
    erase_connection_listed(req, ctx.upgrade);
    edits.keep_upgrade = ctx.upgrade;
    req.version(11);
    if (ctx.upgrade) edits.set(connection, "upgrade");
    if (ctx.trusted) {
        if (!ctx.client_ip.empty()) edits.append(req, x_forwarded_for, ctx.client_ip);
        if (req.find(x_forwarded_proto) == req.end())
            edits.set(x_forwarded_proto, ctx.https ? "https" : "http");
    } else {
        if (ctx.client_ip.empty())
            req.erase(x_forwarded_for);
        else
            edits.set(x_forwarded_for, ctx.client_ip);
        edits.set(x_forwarded_proto, ctx.https ? "https" : "http");
    }
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

}  // namespace sluice::proxy
