#pragma once
// Polling for the integration tests of queueing and admin: wait for a condition with a generous
// deadline instead of sleeping a fixed time, and measure how long something took.

#include "support/wire.hpp"

#include <thread>

namespace sluice::test {

using steady = std::chrono::steady_clock;

inline millis since(steady::time_point start)
{
    return std::chrono::duration_cast<millis>(steady::now() - start);
}

// Polls `done` every 2 ms until it holds; false after `timeout`.
template <typename Predicate>
bool eventually(Predicate done, millis timeout = 10s)
{
    const auto deadline = steady::now() + timeout;
    while (!done()) {
        if (steady::now() > deadline) return false;
        std::this_thread::sleep_for(2ms);
    }
    return true;
}

}  // namespace sluice::test
