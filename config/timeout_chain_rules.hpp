#pragma once
// Internal to the timeout chain (timeout_chain*.cpp): how its rules collect findings and spell
// values and keys, so every sentence reads the same. Not part of the config API.

#include "config/timeout_chain.hpp"
#include "config/units.hpp"

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::config::chain_rules {

using severity = finding::severity;

inline std::string text(duration d) { return format_duration(d); }
inline std::string index(std::string_view list, std::size_t i)
{
    return std::string(list) + "[" + std::to_string(i) + "]";
}

// Headroom for "strictly below / above": max(1 s, 5 %) of the value guarded, enough for a round
// trip and timer granularity without eating much of the budget; half of a sub-second value.
inline duration margin(duration d)
{
    const duration m = std::max<duration>(1s, d / 20);
    return m < d ? m : d / 2;
}
// Whole seconds once values are that long, so a fix reads "54s", not "54.15s".
inline duration below(duration d)
{
    const duration v = d - margin(d);
    return v >= 2s ? std::chrono::floor<std::chrono::seconds>(v) : v;
}
inline duration above(duration d)
{
    const duration v = d + margin(d);
    return v >= 2s ? std::chrono::ceil<std::chrono::seconds>(v) : v;
}

// Findings in the order found, each once: a rule hit on every path through the global timeouts
// is one problem with one fix, not one per listener.
class findings_list {
public:
    void add(severity level, std::string rule, std::string where, std::string what,
             std::string fix)
    {
        const auto same = [&](const finding& f) {
            return f.rule == rule && f.what == what && f.fix == fix;
        };
        if (std::ranges::any_of(list_, same)) return;
        list_.push_back({level, std::move(rule), std::move(where), std::move(what),
                         std::move(fix)});
    }
    std::vector<finding> take()
    {
        std::ranges::stable_partition(list_,
                                      [](const finding& f) { return f.level == severity::error; });
        return std::move(list_);
    }

private:
    std::vector<finding> list_;
};

// A backend as findings name it, and the keys that change its servers' values.
struct backend_at {
    const root& cfg;
    std::size_t bi;
    const backend& b;

    std::string where() const { return index("backends", bi) + " (" + b.name + ")"; }
    std::string server_where(std::size_t si) const
    {
        return where() + " -> " + index("servers", si) + " (" + b.servers[si].name + ")";
    }
    std::string key(std::string_view field) const
    {
        return index("backends", bi) + "." + std::string(field);
    }
    // Where the server's value was written (its own line or server_defaults); server_defaults
    // when nowhere, since that reaches every server of the backend.
    std::string server_key(std::size_t si, std::string_view field) const
    {
        const auto own = key(index("servers", si) + "." + std::string(field));
        const auto it = cfg.marks.find(own);
        if (it != cfg.marks.end() && !it->second.path.empty()) return it->second.path;
        return key("server_defaults." + std::string(field));
    }
};

// The rules about one backend and its servers alone, whatever path leads there
// (timeout_chain_backend.cpp): pool vs keep-alive, assumed keep-alive, limits, health checks.
void check_backend(const backend_at& at, findings_list& out);

}  // namespace sluice::config::chain_rules
