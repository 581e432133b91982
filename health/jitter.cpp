#include "health/jitter.hpp"

#include <algorithm>

namespace sluice::health {
namespace {

// SplitMix64: turns one seed into independent-looking numbers, one per server.
std::uint64_t split_mix(std::uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

// Uniform in [0, bound) up to a bias of bound / 2^64, far below any clock resolution.
clock::rep below(clock::rep bound, std::uint64_t random)
{
    if (bound <= 0) return 0;
    return static_cast<clock::rep>(random % static_cast<std::uint64_t>(bound));
}

}  // namespace

clock::duration next_check_delay(clock::duration interval, unsigned jitter_percent,
                                 std::uint64_t random)
{
    if (interval <= clock::duration::zero()) return clock::duration::zero();
    const auto spread = interval * std::min(jitter_percent, 100u) / 100;
    return interval - spread + clock::duration{below(2 * spread.count() + 1, random)};
}

std::vector<clock::duration> initial_check_offsets(std::size_t servers, clock::duration interval,
                                                   std::uint64_t seed)
{
    std::vector<clock::duration> offsets;
    if (servers == 0) return offsets;
    offsets.reserve(servers);
    const auto count = static_cast<clock::rep>(servers);
    const auto slice = std::max(interval, clock::duration::zero()) / count;
    for (clock::rep i = 0; i < count; ++i) {
        const auto random = split_mix(seed + static_cast<std::uint64_t>(i));
        offsets.push_back(slice * i + clock::duration{below(slice.count(), random)});
    }
    return offsets;
}

}  // namespace sluice::health
