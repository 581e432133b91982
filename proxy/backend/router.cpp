#include "proxy/backend/router.hpp"

#include <algorithm>

namespace sluice::proxy {
namespace {

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b)
{
    return std::ranges::equal(a, b,
                              [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

// "Example.com:8080" -> "Example.com", "[::1]:8080" -> "[::1]"; a trailing dot is dropped too,
// as NGINX does, so "example.com." matches a route for "example.com".
std::string_view host_name(std::string_view host)
{
    if (host.starts_with('[')) {
        host = host.substr(0, host.find(']') + 1);
    } else {
        host = host.substr(0, host.find(':'));
    }
    if (host.ends_with('.')) host.remove_suffix(1);
    return host;
}

// The path of an origin-form ("/a?b") or absolute-form ("http://h/a?b") target, without query.
std::string_view target_path(std::string_view target)
{
    if (!target.starts_with('/')) {
        const auto scheme_end = target.find("://");
        if (scheme_end != std::string_view::npos) {
            const auto path_start = target.find('/', scheme_end + 3);
            target = path_start == std::string_view::npos ? "/" : target.substr(path_start);
        }
    }
    return target.substr(0, target.find('?'));
}

bool matches(const config::route_match& m, std::string_view method, std::string_view host,
             std::string_view path)
{
    return (m.method.empty() || m.method == method) && (m.host.empty() || iequals(m.host, host)) &&
           path.starts_with(m.path_prefix);
}

}  // namespace

router::router(const config::listener& listener) : listener_(&listener) {}

const config::route* router::match(const request_head_view& head) const
{
    const auto host = host_name(head.host);
    const auto path = target_path(head.target);
    for (const auto& r : listener_->routes) {
        if (matches(r.match, head.method, host, path)) return &r;
    }
    return nullptr;
}

const std::string& router::backend_for(const request_head_view& head) const
{
    const auto* r = match(head);
    return r ? r->backend : listener_->default_backend;
}

}  // namespace sluice::proxy
