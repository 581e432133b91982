#pragma once
// The operational log on stderr (start-up, transitions, warnings, upstream trouble), written by a
// background thread so that an event loop never blocks on a slow terminal or pipe.

#include <cstdint>
#include <string_view>

namespace sluice::proxy {

enum class severity { info, warning, error };

void log_event(severity level, std::string_view message);

// Wall-clock milliseconds since the epoch, for log timestamps.
std::int64_t unix_ms_now();

// Waits until everything logged so far is written (before exit).
void flush_event_log();

}  // namespace sluice::proxy
