#include "config/config_diff.hpp"

#include "config/units.hpp"

#include <algorithm>

namespace sluice::config {
namespace {

template <class Items>
const auto* named(const Items& items, const std::string& name)
{
    const auto it = std::ranges::find_if(items, [&](const auto& i) { return i.name == name; });
    return it == items.end() ? nullptr : &*it;
}

// "added" and "removed" lines for the items of two lists, matched by name.
template <class Items, class Changed>
void compare_named(const Items& before, const Items& after, const std::string& what,
                   std::vector<std::string>& out, Changed changed)
{
    for (const auto& a : after) {
        if (const auto* b = named(before, a.name))
            changed(*b, a);
        else
            out.push_back(what + " " + a.name + " added");
    }
    for (const auto& b : before)
        if (!named(after, b.name)) out.push_back(what + " " + b.name + " removed");
}

std::string proxy_protocol_text(proxy_protocol p)
{
    const char* names[] = {"off", "v1", "v2", "any"};
    return names[static_cast<int>(p)];
}

void compare_server(const std::string& where, const server& b, const server& a,
                    std::vector<std::string>& out)
{
    const auto line = [&](const std::string& key, const std::string& from, const std::string& to) {
        if (from != to) out.push_back(where + ": " + key + " " + from + " -> " + to);
    };
    line("address", b.address.text, a.address.text);
    line("weight", std::to_string(b.weight), std::to_string(a.weight));
    line("max_connections", std::to_string(b.max_connections), std::to_string(a.max_connections));
    line("tls", b.tls ? "on" : "off", a.tls ? "on" : "off");
    if (b.tls && a.tls) {
        const auto shown = [](const std::string& s) { return s.empty() ? "\"\"" : s; };
        line("tls.sni", shown(b.tls->sni), shown(a.tls->sni));
        line("tls.ca", shown(b.tls->ca), shown(a.tls->ca));
        line("tls.verify", b.tls->verify ? "true" : "false", a.tls->verify ? "true" : "false");
    }
    line("proxy_protocol", proxy_protocol_text(b.proxy_protocol),
         proxy_protocol_text(a.proxy_protocol));
}

bool same_tls(const listener_tls& b, const listener_tls& a)
{
    const auto files = [](const listener_tls& t) {
        std::vector<std::pair<std::string, std::string>> out;
        for (const auto& c : t.certificates) out.emplace_back(c.cert, c.key);
        return out;
    };
    return files(b) == files(a) && b.min_version == a.min_version && b.ciphers == a.ciphers &&
           b.alpn == a.alpn;
}

// A reload re-reads certificate files even when their paths stay (SPEC.md: renewed files are
// taken by new handshakes), so a TLS listener always gets a line: an operator who renewed a
// certificate sees it taken rather than "no change".
void compare_listener_tls(const listener& b, const listener& a, std::vector<std::string>& out)
{
    const auto where = "listener " + a.name + ": ";
    if (!b.tls && a.tls)
        out.push_back(where + "tls on (new connections)");
    else if (b.tls && !a.tls)
        out.push_back(where + "tls off (new connections)");
    else if (b.tls && a.tls && !same_tls(*b.tls, *a.tls))
        out.push_back(where + "tls (new handshakes)");
    else if (a.tls)
        out.push_back(where + "tls certificate files re-read (new handshakes)");
}

bool same_discovery(const std::optional<discovery>& b, const std::optional<discovery>& a)
{
    if (!b || !a) return b.has_value() == a.has_value();
    const auto texts = [](const discovery& d) {
        std::vector<std::string> out;
        for (const auto& r : d.resolvers) out.push_back(r.text);
        return out;
    };
    return b->dns == a->dns && b->port == a->port && b->srv == a->srv &&
           b->interval == a->interval && b->timeout == a->timeout &&
           b->max_servers == a->max_servers && texts(*b) == texts(*a);
}

void compare_backend(const backend& b, const backend& a, std::vector<std::string>& out)
{
    const auto where = "backend " + a.name;
    compare_named(b.servers, a.servers, where + ": server", out,
                  [&](const server& bs, const server& as) {
                      compare_server(where + ": server " + as.name, bs, as, out);
                  });
    const bool other = b.balance != a.balance || b.protocol != a.protocol ||
                       b.queue_max_length != a.queue_max_length ||
                       b.health.has_value() != a.health.has_value() ||
                       (b.health && a.health &&
                        (b.health->interval != a.health->interval ||
                         b.health->rise != a.health->rise || b.health->fall != a.health->fall)) ||
                       b.slow_start != a.slow_start || b.deadline_header != a.deadline_header;
    if (other) out.push_back(where + ": other settings (balance, queue, health, ...)");
    if (!same_discovery(b.discovery, a.discovery)) out.push_back(where + ": discovery");
}

}  // namespace

std::vector<std::string> describe_changes(const root& before, const root& after)
{
    std::vector<std::string> out;
    compare_named(
        before.listeners, after.listeners, "listener", out,
        [&](const listener& b, const listener& a) {
            if (b.bind.text != a.bind.text)
                out.push_back("listener " + a.name + ": bind " + b.bind.text + " -> " +
                              a.bind.text);
            if (b.default_backend != a.default_backend || b.routes.size() != a.routes.size())
                out.push_back("listener " + a.name + ": routes");
            if (b.trusted_proxies != a.trusted_proxies)
                out.push_back("listener " + a.name + ": trusted_proxies");
            if (b.proxy_protocol != a.proxy_protocol)
                out.push_back("listener " + a.name + ": proxy_protocol (new connections)");
            if (b.defer_accept != a.defer_accept)
                out.push_back("listener " + a.name + ": defer_accept (new connections)");
            compare_listener_tls(b, a, out);
        });
    compare_named(before.backends, after.backends, "backend", out,
                  [&](const backend& b, const backend& a) { compare_backend(b, a, out); });
    for (const auto& f : timeout_fields) {
        const auto from = before.timeouts.*f.value, to = after.timeouts.*f.value;
        if (from != to)
            out.push_back("timeouts." + std::string(f.key) + ": " + format_duration(from) + " -> " +
                          format_duration(to));
    }
    if (before.admin.token != after.admin.token) out.push_back("admin token (admin.token_file)");
    return out;
}

}  // namespace sluice::config
