#pragma once
// The busy/free signal of SPEC.md with hysteresis: a raw condition must hold for `hold` before
// the published state flips (a hold of 0 flips at once). Pure: the caller passes `now`, and
// publishes the returned state to an atomic that /healthz reads without any request lock.

#include <chrono>
#include <cstddef>
#include <optional>

namespace sluice::health {

class busy_signal {
public:
    using clock = std::chrono::steady_clock;

    explicit busy_signal(clock::duration hold);

    // The new published state (true = busy) when this observation flips it, else nullopt.
    std::optional<bool> observe(bool raw_busy, clock::time_point now);
    bool busy() const { return busy_; }

    // How soon to observe again. Closely (every few milliseconds) while busy or while a change
    // is being held, so that a hold is honoured to within that; while all is quiet, a tenth of
    // the hold (at most 100 ms), so that an idle proxy does not wake hundreds of times a second
    // and a change is still seen at most hold/10 late.
    clock::duration next_look() const;

private:
    clock::duration hold_;
    bool busy_ = false;
    std::optional<clock::time_point> disagree_since_;  // raw state differs from busy_ since
};

// The raw condition: requests wait for a slot while no slot is free, or client connections
// reached their limit.
bool raw_busy(std::size_t queued, std::size_t free_slots, bool connections_at_limit);

}  // namespace sluice::health
