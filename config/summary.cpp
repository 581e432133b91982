#include "config/summary.hpp"

#include "config/units.hpp"

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

void summarize_listener(std::ostream& out, const listener& l)
{
    out << "  " << l.name << "  " << l.bind.text << "  max " << l.max_connections
        << " connections\n";
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
    }
}

}  // namespace

std::string summarize(const root& config)
{
    std::ostringstream out;
    out << "listeners\n";
    for (const auto& l : config.listeners) summarize_listener(out, l);
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
