#include "config/admin_rules.hpp"

#include "config/validator.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace sluice::config {
namespace {

source_mark mark_of(const root& cfg, const std::map<std::string, source_mark, std::less<>>& marks,
                    const std::string& path)
{
    auto at = marks.contains(path) ? marks.at(path) : cfg.admin.mark;
    at.path = path;
    return at;
}

}  // namespace

bool local_only(const endpoint& bind)
{
    if (bind.type == endpoint::kind::unix_socket) return true;
    const auto& h = bind.host;
    return h == "localhost" || h == "::1" || h == "[::1]" || h.starts_with("127.");
}

void read_admin_token(root& cfg, const std::map<std::string, source_mark, std::less<>>& marks,
                      std::vector<std::string>& errors)
{
    auto& a = cfg.admin;
    if (a.token_file.empty()) return;
    std::filesystem::path path = a.token_file;
    if (path.is_relative() && cfg.source.find('/') != std::string::npos)
        path = std::filesystem::path(cfg.source).parent_path() / path;
    const auto at = mark_of(cfg, marks, "admin.token_file");
    std::string quoted = "\"";  // built in steps: GCC 12 warns (-Wrestrict) on "\"" + string
    quoted += path.string();
    quoted += '"';
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        errors.push_back(located(at, quoted + " cannot be read; check the path "
                                              "(relative to the config file) and its permissions"));
        return;
    }
    std::ostringstream text;
    text << in.rdbuf();
    auto token = text.str();
    constexpr auto space = " \t\r\n";
    token.erase(0, token.find_first_not_of(space));
    token.erase(token.find_last_not_of(space) + 1);
    if (token.empty())
        errors.push_back(located(at, quoted + " is empty; put the token in it, "
                                              "e.g. `head -c 32 /dev/urandom | base64 > FILE`"));
    a.token = std::move(token);
}

std::optional<std::string> admin_exposure(const root& cfg)
{
    if (!cfg.admin.token.empty() || local_only(cfg.admin.bind)) return std::nullopt;
    return located(
        mark_of(cfg, cfg.marks, "admin.bind"),
        cfg.admin.bind.text +
            " is reachable from other machines and admin.token_file "
            "is not set, so the admin API would refuse every POST (403); set "
            "admin.token_file (POSTs then need \"Authorization: Bearer TOKEN\"), or bind "
            "admin to 127.0.0.1 or a unix socket");
}

}  // namespace sluice::config
