#include "proxy/backend/membership.hpp"

#include <algorithm>
#include <map>

namespace sluice::proxy {
namespace {

// SRV weights (0-65535) in proportion to sluice weights (1-256). All equal (as in an A/AAAA
// answer) gives 1 each, as a static server's default weight.
std::vector<unsigned> scaled_weights(const std::vector<const resolved_address*>& used)
{
    std::uint16_t most = 0;
    for (const auto* a : used) most = std::max(most, a->srv_weight);
    const bool all_equal = std::ranges::all_of(used, [&](const resolved_address* a) {
        return a->srv_weight == most;
    });
    std::vector<unsigned> out;
    for (const auto* a : used) {
        if (all_equal) {
            out.push_back(1);
            continue;
        }
        const auto scaled = (static_cast<unsigned>(a->srv_weight) * 256 + most - 1) / most;
        out.push_back(std::clamp(scaled, 1u, 256u));
    }
    return out;
}

// The answer's servers of the lowest priority, first occurrence of each name, with weights.
std::vector<discovered_server> servers_of(const resolve_answer& answer)
{
    if (answer.addresses.empty()) return {};
    const auto lowest =
        std::ranges::min(answer.addresses, {}, &resolved_address::priority).priority;
    std::vector<const resolved_address*> used;
    std::map<std::string, bool> seen;
    for (const auto& a : answer.addresses) {
        if (a.priority != lowest || a.port == 0) continue;
        if (!seen.emplace(server_name(a.address, a.port), true).second) continue;
        used.push_back(&a);
    }
    const auto weights = scaled_weights(used);
    std::vector<discovered_server> out;
    for (std::size_t i = 0; i < used.size(); ++i)
        out.push_back({server_name(used[i]->address, used[i]->port), used[i]->address,
                       used[i]->port, weights[i]});
    return out;
}

}  // namespace

std::string server_name(std::string_view address, std::uint16_t port)
{
    const bool v6 = address.find(':') != std::string_view::npos;
    return (v6 ? "[" + std::string(address) + "]" : std::string(address)) + ":" +
           std::to_string(port);
}

bool membership_change::changed() const { return !added.empty() || !retired.empty() || reweighted; }

membership_change membership::apply(const resolve_answer& answer)
{
    membership_change change;
    auto found = servers_of(answer);
    if (answer.failure || found.empty()) {
        change.failure = answer.failure.value_or(resolve_failure::empty);
        change.unchanged = servers_;
        return change;
    }
    const auto in = [](const std::vector<discovered_server>& list, const std::string& name) {
        return std::ranges::find(list, name, &discovered_server::name);
    };
    std::vector<discovered_server> next;
    for (const auto& s : servers_) {  // known ones first: a cap never swaps them out
        const auto now = in(found, s.name);
        if (now == found.end()) {
            change.retired.push_back(s);
        } else {
            if (now->weight != s.weight) change.reweighted = true;
            next.push_back(*now);
            change.unchanged.push_back(*now);
        }
    }
    for (const auto& s : found) {
        if (in(servers_, s.name) != servers_.end()) continue;
        if (next.size() >= max_servers_) {
            ++change.over_max_servers;
            continue;
        }
        next.push_back(s);
        change.added.push_back(s);
    }
    // A lowered max_servers (a reload) retires the most recently found beyond it.
    while (next.size() > max_servers_) {
        const auto last = next.back();
        next.pop_back();
        std::erase(change.unchanged, last);
        change.retired.push_back(last);
        ++change.over_max_servers;
    }
    servers_ = std::move(next);
    return change;
}

std::chrono::milliseconds next_delay(std::chrono::milliseconds interval,
                                     std::optional<std::chrono::seconds> ttl)
{
    auto delay = interval;
    if (ttl) delay = std::min<std::chrono::milliseconds>(delay, *ttl);
    return std::max<std::chrono::milliseconds>(delay, std::chrono::seconds(1));
}

}  // namespace sluice::proxy
