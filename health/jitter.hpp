#pragma once
// When to run the next health check. Pure: the randomness is passed in, so tests can pin it.
// Jitter keeps checks of many servers (and of many sluice instances) from running in lock-step
// and hitting the backends as one burst every interval.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace sluice::health {

using clock = std::chrono::steady_clock;

// Uniform in [interval - j, interval + j] with j = interval × jitter_percent / 100 (percent
// capped at 100, so the delay is never negative). `random` is any 64-bit random number.
clock::duration next_check_delay(clock::duration interval, unsigned jitter_percent,
                                 std::uint64_t random);

// The first check of each of `servers` servers: server i at a random point in the i-th of
// `servers` equal slices of the interval, so the first round is already spread evenly instead
// of all servers being probed at start-up. `seed` is one 64-bit random number.
std::vector<clock::duration> initial_check_offsets(std::size_t servers, clock::duration interval,
                                                   std::uint64_t seed);

}  // namespace sluice::health
