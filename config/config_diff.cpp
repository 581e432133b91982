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

void compare_server(const std::string& where, const server& b, const server& a,
                    std::vector<std::string>& out)
{
    const auto line = [&](const std::string& key, const std::string& from, const std::string& to) {
        if (from != to) out.push_back(where + ": " + key + " " + from + " -> " + to);
    };
    line("address", b.address.text, a.address.text);
    line("weight", std::to_string(b.weight), std::to_string(a.weight));
    line("max_connections", std::to_string(b.max_connections), std::to_string(a.max_connections));
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
