#pragma once
// Internal to the admin listener (admin_server.cpp): its routes and the answers it builds, with
// Beast's types. Every refusal is JSON: {"error": "what is wrong; what to do"}.

#include "admin/admin_server.hpp"

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::admin {

namespace beast = boost::beast;
namespace http = beast::http;
using request = http::request<http::string_body>;
using response = http::response<http::string_body>;

inline constexpr std::string_view plain = "text/plain; charset=utf-8";
inline constexpr std::string_view json_type = "application/json";
inline constexpr std::string_view html = "text/html; charset=utf-8";

enum class route { index, healthz, livez, readyz, metrics, status };
// The GET routes; a query string does not change the route.
std::optional<route> find_route(std::string_view target);

std::string error_json(std::string_view what);
// The answer to a read error that means the peer sent something wrong (431, 413, 400); nullopt
// for the errors that end a connection quietly (close, reset, timeout, stop()).
std::optional<std::pair<http::status, std::string>> refusal(beast::error_code ec);
// A HEAD answer carries the GET answer's Content-Length and no body.
response reply(http::status status, std::string_view type, std::string body, bool head_only);
response healthz(const std::atomic<int>& signal, bool head_only);
response not_allowed(std::string_view allow);

}  // namespace sluice::admin
