#pragma once
// Internal to the timeout chain (timeout_chain*.cpp): how its rules collect findings and spell
// values and keys, so every sentence reads the same. Not part of the config API.

#include "config/timeout_chain.hpp"
#include "config/units.hpp"

#include <algorithm>
#include <initializer_list>
#include <map>
#include <set>
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

inline bool overrides_any(const timeout_overrides& o)
{
    const auto set = [&](const timeout_field& f) { return (o.*f.override_value).has_value(); };
    return std::ranges::any_of(timeout_fields, set);
}

// The chain solved as a whole (timeout_chain_solve.cpp): the value each key should have so that
// no rule fires. Every rule quotes its fix from here, so fixes agree instead of undoing each
// other (raise server, which breaks the LB budget, whose fix lowers server again).
struct chain_plan {
    timeouts global;
    std::map<std::pair<std::size_t, std::size_t>, timeouts> routes;  // (listener, route) that
                                                                     // override a timeout
    std::map<std::string, duration> workers;  // worker_timeout key -> the lowered value
    std::set<std::size_t> buffer_request, buffer_response;  // backends to turn buffering on
};
chain_plan solve_chain(const root& cfg);

// What one path needs of its timeouts beyond their own rules: the servers it leads to.
struct scope_needs {
    std::optional<duration> worker;  // the longest declared worker_timeout reachable
    bool queue = false;              // some reachable server has max_connections
};
struct scope_solution {
    timeouts t;
    std::optional<duration> worker_cap;  // declared worker timeouts above it must come down
};
scope_solution solve_scope(timeouts t, const scope_needs& needs);

// Findings in the order found, each once: a rule hit on every path through the global timeouts
// is one problem with one fix, not one per listener.
class findings_list {
public:
    void add(severity level, std::string rule, std::string where, std::string what, std::string fix,
             std::vector<change> changes = {})
    {
        const auto same = [&](const finding& f) {
            return f.rule == rule && f.what == what && f.fix == fix;
        };
        if (std::ranges::any_of(list_, same)) return;
        list_.push_back({level, std::move(rule), std::move(where), std::move(what), std::move(fix),
                         std::move(changes)});
    }
    // Errors first, then warnings; notes go apart.
    std::vector<finding> take(std::vector<finding>& notes)
    {
        for (auto& f : list_)
            if (f.level == severity::note) notes.push_back(std::move(f));
        std::erase_if(list_, [](const finding& f) { return f.level == severity::note; });
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

// "set a to 1s, b to 2s and c to 3s"
inline std::string set_text(const std::vector<change>& changes)
{
    std::string out = "set ";
    for (std::size_t i = 0; i < changes.size(); ++i) {
        if (i > 0) out += i + 1 == changes.size() ? " and " : ", ";
        out += changes[i].key + " to " + changes[i].value;
    }
    return out;
}

// Where the timeouts of a path come from: the global block, or a route overriding some keys.
struct scope {
    std::string where = "timeouts";  // where timeout-only findings point
    std::string prefix;              // "listeners[0] (web) -> routes[1] -> "; "" when global
    std::string route_key;           // "listeners[0].routes[1].timeouts."; "" when global
    const timeout_overrides* overrides = nullptr;
    timeouts t;       // as configured
    timeouts base;    // what the route inherits once the global fixes apply (global: t)
    timeouts solved;  // the plan's values for this path

    // The key an operator edits to change `field` here: the route's own when it overrides it.
    std::string key(std::string_view field) const
    {
        for (const auto& f : timeout_fields) {
            if (f.key == field && overrides && *overrides.*f.override_value)
                return route_key + std::string(field);
        }
        return "timeouts." + std::string(field);
    }
    // The plan's edits of `fields` on this path: a value the path's own solution changes is set
    // on the route (the global timeouts serve other paths too); one it inherits from a global
    // fix is that global key.
    std::vector<change> changes(std::initializer_list<std::string_view> fields) const
    {
        return changes_if(
            [&](std::string_view k) { return std::ranges::find(fields, k) != fields.end(); });
    }
    std::vector<change> all_changes() const
    {
        return changes_if([](std::string_view) { return true; });
    }
    std::vector<change> changes_if(auto&& wanted) const
    {
        std::vector<change> out;
        for (const auto& f : timeout_fields) {
            if (!wanted(f.key)) continue;
            const std::string own = (overrides ? route_key : "timeouts.") + std::string(f.key);
            if (solved.*f.value != base.*f.value)
                out.push_back({own, text(solved.*f.value)});
            else if (base.*f.value != t.*f.value)
                out.push_back({"timeouts." + std::string(f.key), text(base.*f.value)});
        }
        return out;
    }
    std::vector<change> chain_changes() const
    {
        return changes({"queue", "connect", "server", "request"});
    }
};

inline std::vector<change> operator+(std::vector<change> a, const std::vector<change>& b)
{
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

// The LB's idle timeout as the alternative fix: the phases the app needs, and the key to match.
inline std::string raise_lb(const scope& s, duration above_this)
{
    return "raise the load balancer's idle timeout above " + text(above_this) + " and set " +
           s.key("upstream_idle") + " to match";
}

// The rules about one backend on one path (timeout_chain_path.cpp): its queue, its buffering and
// each server's worker_timeout against the path's timeouts.
void check_path(const scope& s, const backend_at& at, const chain_plan& plan, findings_list& out);

// The rules about one backend and its servers alone, whatever path leads there
// (timeout_chain_backend.cpp): pool vs keep-alive, assumed keep-alive, limits, health checks.
void check_backend(const backend_at& at, findings_list& out);

}  // namespace sluice::config::chain_rules
