#pragma once
// At most one log line a second for a kind of event that can come once per connection (a
// balancer sending no PROXY header, clients failing their TLS handshakes): the line that is
// written says how many were left out since the one before. Shared by every worker thread.

#include "net/io_types.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace sluice::proxy {

class rate_limit {
public:
    // How many events went unlogged before this one when it may be logged now; nullopt when a
    // line was written less than a second ago.
    std::optional<unsigned> allow()
    {
        using namespace std::chrono;
        const auto now = duration_cast<milliseconds>(net::coarse_now().time_since_epoch()).count();
        auto due = next_line_at_.load(std::memory_order_relaxed);
        if (now < due || !next_line_at_.compare_exchange_strong(due, now + 1000)) {
            unlogged_.fetch_add(1, std::memory_order_relaxed);
            return std::nullopt;
        }
        return unlogged_.exchange(0, std::memory_order_relaxed);
    }

    // What a logged line adds for the events left out before it: "" or " (and N more since the
    // last line)".
    static std::string unlogged_note(unsigned unlogged)
    {
        return unlogged ? " (and " + std::to_string(unlogged) + " more since the last line)" : "";
    }

private:
    std::atomic<std::int64_t> next_line_at_{0};
    std::atomic<unsigned> unlogged_{0};
};

}  // namespace sluice::proxy
