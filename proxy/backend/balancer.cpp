#include "proxy/backend/balancer.hpp"

#include <cassert>

namespace sluice::proxy {
namespace {

double load_score(const server_load& s) { return (s.in_flight + 1) / s.weight; }

}  // namespace

balancer::balancer(config::balance policy, std::uint64_t seed) : policy_(policy), rng_(seed) {}

std::optional<std::size_t> balancer::pick(std::span<const server_load> servers)
{
    // A reload may add or remove servers between calls; new ones start with no round-robin credit.
    if (current_.size() != servers.size()) current_.resize(servers.size(), 0.0);
    if (next_ >= servers.size()) next_ = 0;
    switch (policy_) {
    case config::balance::roundrobin: return pick_roundrobin(servers);
    case config::balance::leastconn: return pick_leastconn(servers);
    case config::balance::random2: return pick_random2(servers);
    }
    return std::nullopt;
}

// NGINX's smooth weighted round robin (ngx_http_upstream_get_peer): every candidate earns its
// weight, the richest is chosen and pays the total. Weights 5,1,1 give a a b a c a a, not a
// burst of five. Full servers sit the round out and keep their credit.
std::optional<std::size_t> balancer::pick_roundrobin(std::span<const server_load> servers)
{
    std::optional<std::size_t> best;
    double total = 0;
    for (std::size_t i = 0; i < servers.size(); ++i) {
        if (!servers[i].has_free_slot()) continue;
        current_[i] += servers[i].weight;
        total += servers[i].weight;
        if (!best || current_[i] > current_[*best]) best = i;
    }
    if (best) current_[*best] -= total;
    return best;
}

// Scanning from a rotating cursor and keeping the first strict minimum makes equally loaded
// servers take turns instead of the first one taking every tie.
std::optional<std::size_t> balancer::pick_leastconn(std::span<const server_load> servers)
{
    std::optional<std::size_t> best;
    for (std::size_t k = 0; k < servers.size(); ++k) {
        const std::size_t i = (next_ + k) % servers.size();
        if (!servers[i].has_free_slot()) continue;
        if (!best || load_score(servers[i]) < load_score(servers[*best])) best = i;
    }
    if (best) next_ = (*best + 1) % servers.size();
    return best;
}

// Power of two choices (HAProxy's random(2)): two draws weighted by weight, with replacement, and
// the less loaded wins. Nearly as even as leastconn, but when load counts lag (several proxies in
// front of the same servers) the picks do not all herd onto the one least loaded server.
std::optional<std::size_t> balancer::pick_random2(std::span<const server_load> servers)
{
    double total = 0;
    for (const auto& s : servers) {
        if (s.has_free_slot()) total += s.weight;
    }
    if (total <= 0) return std::nullopt;
    const std::size_t a = weighted_draw(servers, total);
    const std::size_t b = weighted_draw(servers, total);
    return load_score(servers[b]) < load_score(servers[a]) ? b : a;
}

std::size_t balancer::weighted_draw(std::span<const server_load> servers, double total)
{
    double x = std::uniform_real_distribution<double>{0.0, total}(rng_);
    std::optional<std::size_t> last;
    for (std::size_t i = 0; i < servers.size(); ++i) {
        if (!servers[i].has_free_slot()) continue;
        last = i;
        if (x < servers[i].weight) return i;
        x -= servers[i].weight;
    }
    // Rounding can leave x just above the last weight: the draw belongs to the last candidate.
    assert(last && "caller checked that some server has a free slot");
    return *last;
}

}  // namespace sluice::proxy
