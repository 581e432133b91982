#include "config/loader_discovery.hpp"

#include <arpa/inet.h>

namespace sluice::config::yaml {
namespace {

bool is_ip_literal(const std::string& host)
{
    unsigned char buffer[16];
    return ::inet_pton(AF_INET, host.c_str(), buffer) == 1 ||
           ::inet_pton(AF_INET6, host.c_str(), buffer) == 1;
}

// One name server: an IP address with a port; without one, 53. A name server named by a name
// would need a name server to find it.
void read_resolver(reader& r, const node& n, const std::string& path, std::vector<endpoint>& out)
{
    std::string text;
    if (!r.text(n, path, text)) return;
    const bool v6 = text.find(':') != std::string::npos;
    auto parsed = parse_endpoint(!is_ip_literal(text) ? text
                                 : v6                 ? "[" + text + "]:53"
                                                      : text + ":53");
    const auto expected = "; expected an IP address and port like 10.96.0.10:53 or [fd00::a]:53";
    if (!parsed.value) return r.error(n, path, quoted(text) + " " + parsed.problem + expected);
    if (parsed.value->type != endpoint::kind::tcp || !is_ip_literal(parsed.value->host))
        return r.error(n, path, quoted(text) + " is not an IP address" + expected);
    if (parsed.value->port == 0) return r.error(n, path, quoted(text) + " has port 0" + expected);
    parsed.value->text = text;
    out.push_back(*parsed.value);
}

// One resolver (`resolvers: 10.96.0.10:53`) or a list of them.
void read_resolvers(reader& r, const node& n, const std::string& path, std::vector<endpoint>& out)
{
    std::vector<endpoint> resolvers;
    if (n.IsScalar())
        read_resolver(r, n, path, resolvers);
    else
        walk_list(r, n, path, [&](const node& item, const std::string& p) {
            read_resolver(r, item, p, resolvers);
        });
    out = std::move(resolvers);
}

void read_port(reader& r, const node& n, const std::string& path, std::uint16_t& out)
{
    std::optional<std::uint16_t> port;
    r.port(n, path, port);
    if (port) out = *port;
}

const field<discovery> discovery_fields[] = {
    {"dns", [](auto& r, auto& n, auto& p, auto& d) { r.text(n, p, d.dns); }},
    {"port", [](auto& r, auto& n, auto& p, auto& d) { read_port(r, n, p, d.port); }},
    {"srv", [](auto& r, auto& n, auto& p, auto& d) { r.text(n, p, d.srv); }},
    {"interval", [](auto& r, auto& n, auto& p, auto& d) { r.time(n, p, d.interval); }},
    {"resolvers", [](auto& r, auto& n, auto& p, auto& d) { read_resolvers(r, n, p, d.resolvers); }},
    {"timeout", [](auto& r, auto& n, auto& p, auto& d) { r.time(n, p, d.timeout); }},
    {"max_servers", [](auto& r, auto& n, auto& p, auto& d) { r.whole(n, p, d.max_servers); }},
};

const field<scale_out_peers> peers_fields[] = {
    {"dns", [](auto& r, auto& n, auto& p, auto& x) { r.text(n, p, x.dns); }},
    {"interval", [](auto& r, auto& n, auto& p, auto& x) { r.time(n, p, x.interval); }},
    {"resolvers", [](auto& r, auto& n, auto& p, auto& x) { read_resolvers(r, n, p, x.resolvers); }},
};

}  // namespace

void read_discovery(reader& r, const node& n, const std::string& path, backend& b)
{
    auto& d = b.discovery.emplace();
    d.mark = r.mark(n, path);
    read_map(r, n, path, discovery_fields, d);
}

void read_peers(reader& r, const node& n, const std::string& path, scale_out& s)
{
    auto& peers = s.peers.emplace();
    peers.mark = r.mark(n, path);
    read_map(r, n, path, peers_fields, peers);
}

}  // namespace sluice::config::yaml
