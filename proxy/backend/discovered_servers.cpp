#include "proxy/backend/discovered_servers.hpp"

#include <algorithm>

namespace sluice::proxy {

namespace {

config::server server_from(const config::backend& b, const discovered_server& found)
{
    auto s = b.server_defaults;
    s.name = found.name;
    s.address = config::endpoint{};
    s.address.type = config::endpoint::kind::tcp;
    s.address.host = found.address;
    s.address.port = found.port;
    s.address.text = found.name;
    if (b.discovery && !b.discovery->srv.empty()) s.weight = found.weight;
    s.discovered = true;
    return s;
}

}  // namespace

std::vector<config::server> with_discovered(const config::backend& b,
                                            const std::vector<discovered_server>& found)
{
    std::vector<config::server> out;
    for (const auto& s : b.servers)
        if (!s.discovered) out.push_back(s);
    const auto listed = out.size();
    for (const auto& f : found) {
        const auto end = out.begin() + static_cast<std::ptrdiff_t>(listed);
        if (std::find_if(out.begin(), end, [&](const auto& s) { return s.name == f.name; }) != end)
            continue;
        out.push_back(server_from(b, f));
    }
    return out;
}

}  // namespace sluice::proxy
