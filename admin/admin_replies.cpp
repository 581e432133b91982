#include "admin/admin_replies.hpp"

#include "admin/admin_server.hpp"
#include "proxy/log/access_record.hpp"

#include <boost/beast/http/error.hpp>

namespace sluice::admin {
namespace {

constexpr std::array<std::pair<std::string_view, route>, 6> routes{{
    {"/", route::index},
    {"/healthz", route::healthz},
    {"/livez", route::livez},
    {"/readyz", route::readyz},
    {"/metrics", route::metrics},
    {"/status", route::status},
}};

}  // namespace

std::optional<route> find_route(std::string_view target)
{
    auto path = target.substr(0, target.find('?'));
    for (const auto& [name, r] : routes)
        if (name == path) return r;
    return std::nullopt;
}

std::string error_json(std::string_view what)
{
    std::string out = "{\"error\":";
    proxy::append_json_string(out, what);
    return out + "}\n";
}

std::optional<std::pair<http::status, std::string>> refusal(beast::error_code ec)
{
    if (ec == http::error::header_limit)
        return std::pair{http::status::request_header_fields_too_large,
                         error_json("request head over 8 KiB")};
    if (ec == http::error::body_limit)
        return std::pair{http::status::payload_too_large,
                         error_json("request body over " + std::to_string(max_post_body) +
                                    " bytes; the admin API takes one word or number")};
    if (ec == http::error::end_of_stream || ec == http::error::partial_message ||
        ec.category() != http::make_error_code(http::error::bad_target).category())
        return std::nullopt;
    return std::pair{http::status::bad_request, error_json("bad request")};
}

response reply(http::status status, std::string_view type, std::string body, bool head_only)
{
    response res{status, 11};
    res.set(http::field::server, "sluice-admin");
    res.set(http::field::content_type, type);
    res.set(http::field::cache_control, "no-store");
    res.content_length(body.size());
    if (!head_only) res.body() = std::move(body);
    return res;
}

response healthz(const std::atomic<int>& signal, bool head_only)
{
    switch (static_cast<proxy_signal>(signal.load(std::memory_order_relaxed))) {
    case proxy_signal::free: return reply(http::status::ok, plain, "free\n", head_only);
    case proxy_signal::draining:
        return reply(http::status::service_unavailable, plain, "draining\n", head_only);
    default:  // busy, or a value this build does not know: not a reason to send traffic
        return reply(http::status::service_unavailable, plain, "busy\n", head_only);
    }
}

response not_allowed(std::string_view allow)
{
    auto res = reply(http::status::method_not_allowed, json_type,
                     error_json("use " + std::string(allow)), false);
    res.set(http::field::allow, allow);
    return res;
}

}  // namespace sluice::admin
