#include "config/summary.hpp"

#include "config/tls_files.hpp"
#include "config/units.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <sstream>
#include <vector>

namespace sluice::config {
namespace {

std::string_view balance_name(balance b)
{
    switch (b) {
    case balance::roundrobin: return "roundrobin";
    case balance::leastconn: return "leastconn";
    case balance::random2: return "random2";
    }
    return "?";
}

// "/deploy host ops.example.com POST", or "any request" for an empty match.
std::string describe(const route_match& m)
{
    std::vector<std::string> parts;
    if (!m.path_prefix.empty()) parts.push_back(m.path_prefix + "*");
    if (!m.host.empty()) parts.push_back("host " + m.host);
    if (!m.method.empty()) parts.push_back(m.method);
    if (parts.empty()) return "any request";
    std::string out = parts.front();
    for (std::size_t i = 1; i < parts.size(); ++i) out += " " + parts[i];
    return out;
}

// " (server 10m)" for the timeouts a route overrides.
std::string describe(const timeout_overrides& t)
{
    std::string out;
    for (const auto& f : timeout_fields) {
        if (const auto& value = t.*f.override_value) {
            out += out.empty() ? " (" : ", ";
            out += std::string(f.key) + " " + format_duration(*value);
        }
    }
    return out.empty() ? out : out + ")";
}

std::string_view proxy_protocol_name(proxy_protocol p)
{
    switch (p) {
    case proxy_protocol::off: return "off";
    case proxy_protocol::v1: return "v1";
    case proxy_protocol::v2: return "v2";
    case proxy_protocol::any: return "any";
    }
    return "?";
}

std::string cidr_text(const cidr& c)
{
    char text[INET6_ADDRSTRLEN] = "?";
    ::inet_ntop(c.v6 ? AF_INET6 : AF_INET, c.bytes.data(), text, sizeof text);
    return std::string(text) + "/" + std::to_string(c.prefix);
}

// "    tls  min 1.2, ciphers intermediate, alpn http/1.1" and a line per certificate.
void summarize_tls(std::ostream& out, const listener_tls& t, system_time now)
{
    out << "    tls  min " << version_name(effective_min_version(t)) << ", ciphers " << t.ciphers
        << ", alpn";
    for (const auto& p : t.alpn) out << " " << p;
    if (t.alpn.empty()) out << " none";
    out << "\n";
    for (const auto& c : t.certificates) {
        out << "      " << c.cert << "  ";
        const auto report = inspect_certificate(c, now);
        if (!report.error.empty()) {
            out << "unusable: " << report.error << "\n";
            continue;
        }
        for (std::size_t i = 0; i < report.facts.names.size(); ++i)
            out << (i ? ", " : "") << report.facts.names[i];
        const auto days = days_between(now, report.facts.not_after);
        out << "  expires " << format_utc(report.facts.not_after) << " (" << days
            << (days == 1 ? " day" : " days") << ")\n";
    }
}

void summarize_listener(std::ostream& out, const listener& l, system_time now)
{
    out << "  " << l.name << "  " << l.bind.text << "  max " << l.max_connections
        << " connections\n";
    if (l.tls) summarize_tls(out, *l.tls, now);
    // Shown when set: a plain listener's summary stays as short as before.
    if (l.proxy_protocol != proxy_protocol::off || !l.trusted_proxies.empty()) {
        out << "    proxy_protocol " << proxy_protocol_name(l.proxy_protocol)
            << "  trusted_proxies";
        for (const auto& c : l.trusted_proxies) out << " " << cidr_text(c);
        if (l.trusted_proxies.empty()) out << " none";
        out << "\n";
    }
    for (const auto& r : l.routes) {
        out << "    " << describe(r.match) << " -> " << r.backend << describe(r.timeouts) << "\n";
    }
    if (!l.default_backend.empty()) out << "    otherwise -> " << l.default_backend << "\n";
}

void summarize_backend(std::ostream& out, const backend& b)
{
    out << "  " << b.name << "  " << balance_name(b.balance)
        << (b.protocol == protocol::uwsgi ? ", uwsgi" : ", http") << ", queue "
        << b.queue_max_length << ", pool idle " << format_duration(b.keepalive.idle_timeout)
        << "\n";
    for (const auto& s : b.servers) {
        out << "    " << s.name << "  " << s.address.text << "  max_connections ";
        if (s.max_connections == 0)
            out << "none";
        else
            out << s.max_connections;
        out << "  weight " << s.weight << "  keepalive " << format_duration(s.keepalive_timeout)
            << (s.keepalive_timeout_declared ? "" : " (assumed)") << "\n";
        if (s.tls) {
            out << "      tls  sni " << (s.tls->sni.empty() ? "(address host)" : s.tls->sni)
                << "  ca " << (s.tls->ca.empty() ? "(system store)" : s.tls->ca) << "  verify "
                << (s.tls->verify ? "on" : "OFF") << "\n";
        }
        if (s.proxy_protocol != proxy_protocol::off)
            out << "      proxy_protocol " << proxy_protocol_name(s.proxy_protocol) << "\n";
    }
    if (const auto& d = b.discovery) {
        out << "    discovery  "
            << (d->srv.empty() ? "dns " + d->dns + " port " + std::to_string(d->port)
                               : "srv " + d->srv)
            << "  every " << format_duration(d->interval) << "  timeout "
            << format_duration(d->timeout) << "  max_servers " << d->max_servers << "  resolvers";
        for (const auto& r : d->resolvers) out << " " << r.text;
        if (d->resolvers.empty()) out << " (/etc/resolv.conf)";
        out << "\n";
    }
}

}  // namespace

std::string summarize(const root& config, std::chrono::system_clock::time_point now)
{
    std::ostringstream out;
    out << "listeners\n";
    for (const auto& l : config.listeners) summarize_listener(out, l, now);
    out << "admin  " << config.admin.bind.text << "\n";
    out << "backends\n";
    for (const auto& b : config.backends) summarize_backend(out, b);
    out << "timeouts\n";
    // Two lines of the chain, client side first, so the summary stays within 80 columns.
    std::size_t i = 0;
    for (const auto& f : timeout_fields) {
        out << "  " << f.key << " " << format_duration(config.timeouts.*f.value);
        if (++i % 5 == 0 || i == std::size(timeout_fields)) out << "\n";
    }
    return out.str();
}

}  // namespace sluice::config
