#include "support/proxy_config.hpp"

#include "support/scripted_backend.hpp"

#include <algorithm>

namespace sluice::test {

// Quick tests by default: no LB in front (its idle timeout would be flagged against the short
// client_idle of timeout tests) and a short drain so the destructor's SIGTERM ends fast.
proxy_config::proxy_config()
{
    top_level_.push_back("threads: 2");
    timeouts_ = {{"upstream_idle", "0s"}, {"drain", "2s"}};
}

proxy_config& proxy_config::backend(std::string name, std::vector<std::string> addresses,
                                    std::vector<std::string> options)
{
    if (default_backend_.empty()) default_backend_ = name;
    backends_.push_back({std::move(name), std::move(addresses), std::move(options)});
    return *this;
}

proxy_config& proxy_config::timeout(std::string key, std::string value)
{
    for (auto& [k, v] : timeouts_)
        if (k == key) {
            v = std::move(value);
            return *this;
        }
    timeouts_.emplace_back(std::move(key), std::move(value));
    return *this;
}

proxy_config& proxy_config::limits(std::string flow_map)
{
    limits_ = std::move(flow_map);
    return *this;
}

proxy_config& proxy_config::bind(std::string address)
{
    bind_ = std::move(address);
    return *this;
}

proxy_config& proxy_config::listener_option(std::string line)
{
    listener_options_.push_back(std::move(line));
    return *this;
}

proxy_config& proxy_config::route(std::string match_flow_map, std::string backend)
{
    routes_.emplace_back(std::move(match_flow_map), std::move(backend));
    return *this;
}

proxy_config& proxy_config::top_level(std::string line)
{
    // A key given again replaces the default ("threads: 1" over "threads: 2").
    const auto key = line.substr(0, line.find(':') + 1);
    const auto same = std::find_if(top_level_.begin(), top_level_.end(),
                                   [&](const std::string& l) { return l.starts_with(key); });
    if (same != top_level_.end())
        *same = std::move(line);
    else
        top_level_.push_back(std::move(line));
    return *this;
}

proxy_config& proxy_config::default_backend(std::string name)
{
    default_backend_ = std::move(name);
    return *this;
}

std::string proxy_config::yaml() const
{
    std::string y;
    for (const auto& line : top_level_) y += line + "\n";
    y += "access_log: {dir}/access.log\n";
    y += "admin:\n  bind: 127.0.0.1:0\n";
    y += "listeners:\n  - name: web\n    bind: " + bind_ + "\n";
    for (const auto& line : listener_options_) y += "    " + line + "\n";
    if (!limits_.empty()) y += "    limits: " + limits_ + "\n";
    if (!routes_.empty()) {
        y += "    routes:\n";
        for (const auto& [match, backend] : routes_)
            y += "      - match: " + match + "\n        backend: " + backend + "\n";
    }
    y += "    default_backend: " + default_backend_ + "\n";
    if (!timeouts_.empty()) {
        y += "timeouts:\n";
        for (const auto& [key, value] : timeouts_) y += "  " + key + ": " + value + "\n";
    }
    y += "backends:\n";
    for (const auto& b : backends_) {
        y += "  - name: " + b.name + "\n";
        for (const auto& line : b.options) y += "    " + line + "\n";
        // None: a backend of discovery alone (`servers:` with no item would be YAML's null).
        y += b.addresses.empty() ? "    servers: []\n" : "    servers:\n";
        for (std::size_t i = 0; i < b.addresses.size(); ++i)
            y += "      - { name: " + b.name + std::to_string(i + 1) + ", address: \"" +
                 b.addresses[i] + "\" }\n";
    }
    return y;
}

proxy_config config_for(const scripted_backend& app) { return config_for({&app}); }

proxy_config config_for(const std::vector<const scripted_backend*>& servers)
{
    std::vector<std::string> addresses;
    for (const auto* s : servers) addresses.push_back(s->address());
    return proxy_config{}.backend("app", std::move(addresses));
}

}  // namespace sluice::test
