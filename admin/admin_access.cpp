#include "admin/admin_access.hpp"

#include "config/admin_rules.hpp"

#include <algorithm>
#include <cctype>
#include <vector>

namespace sluice::admin {
namespace {

std::optional<std::string> percent_decoded(std::string_view s)
{
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '%') {
            out += s[i];
            continue;
        }
        if (i + 2 >= s.size() || !std::isxdigit(static_cast<unsigned char>(s[i + 1])) ||
            !std::isxdigit(static_cast<unsigned char>(s[i + 2])))
            return std::nullopt;
        out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
        i += 2;
    }
    return out;
}

std::vector<std::string_view> segments(std::string_view path)
{
    std::vector<std::string_view> out;
    while (!path.empty()) {
        path.remove_prefix(1);  // the '/'
        const auto end = path.find('/');
        out.push_back(path.substr(0, end));
        path = end == std::string_view::npos ? std::string_view{} : path.substr(end);
    }
    return out;
}

}  // namespace

bool same_secret(std::string_view a, std::string_view b)
{
    // Every byte of the longer one is read whatever the others are: no early exit to time.
    const auto n = std::max(a.size(), b.size());
    unsigned char diff = a.size() == b.size() ? 0 : 1;
    for (std::size_t i = 0; i < n; ++i) {
        const auto x = i < a.size() ? a[i] : 0;
        const auto y = i < b.size() ? b[i] : 0;
        diff |= static_cast<unsigned char>(x ^ y);
    }
    // volatile: the compiler may not turn the loop into an early-exit comparison.
    volatile unsigned char result = diff;
    return result == 0;
}

access_verdict authorize_post(const std::string& token, const config::endpoint& bind,
                              std::string_view authorization)
{
    if (token.empty()) {
        if (config::local_only(bind)) return {};
        return {403, "POST is refused: admin.bind " + bind.text +
                         " is reachable from other machines and admin.token_file is not set; "
                         "set admin.token_file (every POST then needs \"Authorization: Bearer "
                         "TOKEN\"), or bind admin to 127.0.0.1 or a unix socket"};
    }
    constexpr std::string_view scheme = "Bearer ";
    if (authorization.empty())
        return {401, "this admin API needs \"Authorization: Bearer TOKEN\" with the token of "
                     "admin.token_file"};
    const bool bearer = authorization.size() > scheme.size() &&
                        std::equal(scheme.begin(), scheme.end(), authorization.begin(),
                                   [](char s, char a) {
                                       return std::tolower(static_cast<unsigned char>(s)) ==
                                              std::tolower(static_cast<unsigned char>(a));
                                   });
    if (!bearer || !same_secret(authorization.substr(scheme.size()), token))
        return {401, "the bearer token does not match admin.token_file; send \"Authorization: "
                     "Bearer TOKEN\" with the file's token"};
    return {};
}

std::optional<post_target> parse_post_target(std::string_view target)
{
    const auto path = target.substr(0, target.find('?'));
    if (path == "/reload") return post_target{post_target::kind::reload, "", ""};
    const auto parts = segments(path);
    if (parts.size() != 4 || parts[0] != "servers" || parts[1].empty() || parts[2].empty())
        return std::nullopt;
    post_target t{post_target::kind::state, "", ""};
    if (parts[3] == "weight")
        t.what = post_target::kind::weight;
    else if (parts[3] != "state")
        return std::nullopt;
    auto backend = percent_decoded(parts[1]);
    auto server = percent_decoded(parts[2]);
    if (!backend || !server) return std::nullopt;
    t.backend = std::move(*backend);
    t.server = std::move(*server);
    return t;
}

}  // namespace sluice::admin
