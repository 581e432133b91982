// The rules of SPEC.md "Servers found by DNS" (backends[].discovery) and of scale_out.peers.

#include "config/checker.hpp"

#include <cctype>

namespace sluice::config {
namespace {

// What is wrong with a DNS name ("" = nothing): RFC 1035 lengths, letters, digits, - and _ (SRV
// names start with _service._proto), an optional final dot.
std::string name_problem(std::string_view name)
{
    if (name.ends_with('.')) name.remove_suffix(1);
    if (name.empty()) return "is empty";
    if (name.size() > 253) return "is longer than 253 characters";
    std::size_t label = 0;
    for (const char c : name) {
        if (c == '.') {
            if (label == 0) return "has an empty label (two dots in a row or a leading dot)";
            label = 0;
            continue;
        }
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_')
            return std::string("has '") + c + "', which a DNS name cannot hold";
        if (++label > 63) return "has a label longer than 63 characters";
    }
    if (label == 0) return "has an empty label (two dots in a row or a leading dot)";
    return "";
}

void check_name(checker& c, const source_mark& at, std::string_view key, const std::string& name)
{
    if (const auto problem = name_problem(name); !problem.empty())
        c.error(at, key, "\"" + name + "\" " + problem + "; expected a DNS name");
}

void check_interval(checker& c, const source_mark& at, duration interval)
{
    if (interval < 1s)
        c.error(at, "interval",
                "is under 1s; expected at least 1s (each resolution is a query to every "
                "resolver), e.g. 5s");
}

void check_discovery(checker& c, const backend& b)
{
    const auto& d = *b.discovery;
    if (!d.dns.empty() && !d.srv.empty()) {
        c.error(d.mark, "srv",
                "is set with dns; use dns (A and AAAA records, with port) or srv (SRV records, "
                "which carry ports and weights), not both");
    } else if (d.dns.empty() && d.srv.empty()) {
        c.error(d.mark, "dns",
                "missing; add `dns: app.example.internal` with `port: 8000`, or "
                "`srv: _http._tcp.app.example.internal`");
    } else if (!d.dns.empty()) {
        check_name(c, d.mark, "dns", d.dns);
        if (d.port == 0)
            c.error(d.mark, "port",
                    "missing or 0; dns needs the port the servers listen on, e.g. `port: 8000`");
    } else {
        check_name(c, d.mark, "srv", d.srv);
        if (d.port != 0)
            c.error(d.mark, "port", "is set with srv; SRV records carry each server's port");
    }
    check_interval(c, d.mark, d.interval);
    if (d.timeout.count() == 0) c.error(d.mark, "timeout", "is 0; expected a duration like 2s");
    if (d.max_servers == 0 || d.max_servers > 1024)
        c.error(d.mark, "max_servers",
                std::to_string(d.max_servers) + " is out of range; expected 1-1024");
    const auto& s = b.server_defaults;
    if (s.weight > 256)
        c.error(s.mark, "weight", std::to_string(s.weight) + " is too large; expected 0-256");
}

}  // namespace

void check_discovery(checker& c, const root& config)
{
    for (const auto& b : config.backends)
        if (b.discovery) check_discovery(c, b);
    if (const auto& peers = config.scale_out.peers) {
        if (peers->dns.empty())
            c.error(peers->mark, "dns",
                    "missing; add the name whose addresses are the sluice instances, e.g. "
                    "`dns: sluice-edge.prod.svc.cluster.local`");
        else
            check_name(c, peers->mark, "dns", peers->dns);
        check_interval(c, peers->mark, peers->interval);
    }
}

}  // namespace sluice::config
