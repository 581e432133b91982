#include "health/busy_timeout.hpp"

#include "config/units.hpp"

#include <algorithm>

namespace sluice::health {

namespace {

std::string format(clock::duration d)
{
    return config::format_duration(std::chrono::duration_cast<config::duration>(d));
}

}  // namespace

clock::duration busy_window(const config::health& h, config::duration server_timeout,
                            std::optional<config::duration> worker_timeout)
{
    std::optional<config::duration> longest_request;
    if (server_timeout > config::duration::zero()) longest_request = server_timeout;
    if (worker_timeout && *worker_timeout > config::duration::zero())
        longest_request = std::min(longest_request.value_or(*worker_timeout), *worker_timeout);
    const clock::duration since_last_check = h.interval + h.timeout;
    return std::max<clock::duration>(since_last_check,
                                     longest_request.value_or(config::duration::zero()));
}

void busy_timeout::check_started(std::uint64_t answered, clock::time_point now)
{
    samples_.push_back({now, answered});
    // Keep the newest sample older than the window (the baseline) and everything after it.
    while (samples_.size() > 1 && samples_[1].at <= now - window_) samples_.pop_front();
}

std::optional<busy_timeout::sample> busy_timeout::baseline(clock::time_point now) const
{
    std::optional<sample> found;
    for (const auto& s : samples_) {
        if (s.at > now - window_) break;
        found = s;
    }
    return found;
}

check_result busy_timeout::judge(check_result r, const server_activity& load,
                                 clock::time_point now) const
{
    if (r.outcome != check_result::kind::fail || !r.timed_out) return r;
    if (load.max_connections == 0 || load.in_flight < load.max_connections) return r;
    const auto slots = "timed out with all " + std::to_string(load.max_connections) +
                       " slots in use, ";
    const auto from = baseline(now);
    if (!from) {
        return check_result::saturated(slots +
                                       "watched for less than the longest a request may "
                                       "take (" +
                                       format(window_) + ")");
    }
    if (load.answered <= from->answered) return r;
    const auto answered = load.answered - from->answered;
    return check_result::saturated(slots + "while the server answered " + std::to_string(answered) +
                                   " request" + (answered == 1 ? "" : "s") + " in the last " +
                                   format(now - from->at));
}

}  // namespace sluice::health
