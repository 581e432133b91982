#include "exe/discovery_check.hpp"

#include "config/units.hpp"
#include "config/validator.hpp"
#include "net/dns_resolver.hpp"
#include "proxy/log/access_record.hpp"

#include <future>

namespace sluice::cli {
namespace {

std::string asked(const config::discovery& d)
{
    if (!d.srv.empty()) return "srv " + d.srv;
    return "dns " + d.dns + " port " + std::to_string(d.port);
}

std::string resolvers(const config::discovery& d)
{
    if (d.resolvers.empty()) return "the nameservers of /etc/resolv.conf";
    std::string out;
    for (const auto& r : d.resolvers) out += (out.empty() ? "" : ", ") + r.text;
    return out;
}

std::string meaning(net::resolve_failure f, const config::discovery& d)
{
    switch (f) {
    case net::resolve_failure::timeout:
        return "no resolver answered within " + config::format_duration(d.timeout);
    case net::resolve_failure::servfail: return "the resolver refused or failed (SERVFAIL)";
    case net::resolve_failure::nxdomain: return "the name does not exist";
    case net::resolve_failure::empty:
        return d.srv.empty() ? "the name has no A or AAAA record"
                             : "no SRV record, or no address for its targets";
    case net::resolve_failure::other: return "the resolver could not be asked";
    }
    return "";
}

// What `run` does about it (SPEC.md: failing at start-up is not fatal) and what to check.
std::string warning(const config::backend& b, net::resolve_failure f)
{
    const auto& d = *b.discovery;
    std::string out = asked(d) + " found no server: " + std::string(net::to_string(f));
    out += " (" + meaning(f, d) + "; asked " + resolvers(d) + "). ";
    out += "`sluice run` would start anyway and ask again every " +
           config::format_duration(d.interval) + "; until an answer has addresses, backend " +
           b.name;
    out += b.servers.empty()
               ? " has no server and its requests wait up to timeouts.queue"
               : " has its " + std::to_string(b.servers.size()) + " static server(s) only";
    out += ". Check the name and discovery.resolvers, or pass --offline where those resolvers "
           "cannot be reached";
    return config::located(d.mark, out);
}

discovery_result result_of(const config::backend& b, const net::resolve_answer& answer)
{
    discovery_result r{b.name, asked(*b.discovery), true};
    proxy::membership members(b.discovery->max_servers);
    const auto change = members.apply(answer);
    r.servers = members.servers();
    r.over_max_servers = change.over_max_servers;
    r.failure = change.failure;
    if (r.failure) r.warning = warning(b, *r.failure);
    return r;
}

}  // namespace

std::vector<discovery_result> check_discovery(const config::root& cfg, bool offline)
{
    std::vector<const config::backend*> found;
    for (const auto& b : cfg.backends)
        if (b.discovery) found.push_back(&b);
    std::vector<discovery_result> out;
    if (offline) {
        for (const auto* b : found) out.push_back({b->name, asked(*b->discovery)});
        return out;
    }
    // One thread per name, so several silent resolvers cost one timeout, not their sum; each
    // resolve() has its own c-ares channel.
    std::vector<std::future<net::resolve_answer>> answers;
    for (const auto* b : found)
        answers.push_back(std::async(std::launch::async, [q = net::query_for(*b->discovery)] {
            return net::resolve(q);
        }));
    for (std::size_t i = 0; i < found.size(); ++i)
        out.push_back(result_of(*found[i], answers[i].get()));
    return out;
}

std::string format_text(const std::vector<discovery_result>& results)
{
    if (results.empty()) return "";
    if (!results.front().resolved) return "discovery  not resolved (--offline)\n\n";
    std::string out = "discovery, resolved once now (--offline skips it)\n";
    for (const auto& r : results) {
        out += "  " + r.backend + "  " + r.asked + ": ";
        if (r.failure) {
            out += "no server (" + std::string(net::to_string(*r.failure)) + ")\n";
            continue;
        }
        out += std::to_string(r.servers.size()) + (r.servers.size() == 1 ? " server" : " servers");
        if (r.over_max_servers > 0)
            out += ", " + std::to_string(r.over_max_servers) + " more left out by max_servers";
        out += "\n";
        for (const auto& s : r.servers)
            out += "    " + s.name + "  weight " + std::to_string(s.weight) + "\n";
    }
    return out + "\n";
}

std::string format_json(const std::vector<discovery_result>& results)
{
    std::string out = "[";
    for (const auto& r : results) {
        out += &r == results.data() ? "\n    {\"backend\": " : ",\n    {\"backend\": ";
        proxy::append_json_string(out, r.backend);
        out += ", \"asked\": ";
        proxy::append_json_string(out, r.asked);
        out += std::string(", \"resolved\": ") + (r.resolved ? "true" : "false");
        out += ", \"failure\": ";
        if (r.failure)
            proxy::append_json_string(out, net::to_string(*r.failure));
        else
            out += "null";
        out += ", \"servers\": [";
        for (const auto& s : r.servers) {
            out += &s == r.servers.data() ? "{\"name\": " : ", {\"name\": ";
            proxy::append_json_string(out, s.name);
            out += ", \"weight\": " + std::to_string(s.weight) + "}";
        }
        out += "], \"over_max_servers\": " + std::to_string(r.over_max_servers) + "}";
    }
    return out + (results.empty() ? "]" : "\n  ]");
}

}  // namespace sluice::cli
