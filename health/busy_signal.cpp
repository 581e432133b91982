#include "health/busy_signal.hpp"

#include <algorithm>

namespace sluice::health {

busy_signal::busy_signal(clock::duration hold) : hold_(hold) {}

std::optional<bool> busy_signal::observe(bool raw_busy, clock::time_point now)
{
    if (raw_busy == busy_) {
        // Any return to the published state restarts the hold: a flap shorter than it never flips.
        disagree_since_.reset();
        return std::nullopt;
    }
    if (!disagree_since_) disagree_since_ = now;
    if (now - *disagree_since_ < hold_) return std::nullopt;
    busy_ = raw_busy;
    disagree_since_.reset();
    return busy_;
}

busy_signal::clock::duration busy_signal::next_look() const
{
    constexpr clock::duration closely = std::chrono::milliseconds(5);
    constexpr clock::duration at_most = std::chrono::milliseconds(100);
    if (busy_ || disagree_since_) return closely;
    return std::clamp<clock::duration>(hold_ / 10, closely, at_most);
}

bool raw_busy(std::size_t queued, std::size_t free_slots, bool connections_at_limit)
{
    // queued > free_slots implies queued > 0: an empty queue is never busy.
    return connections_at_limit || queued > free_slots;
}

}  // namespace sluice::health
