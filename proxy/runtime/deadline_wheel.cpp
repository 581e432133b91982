#include "proxy/runtime/deadline_wheel.hpp"

namespace sluice::proxy {

deadline_wheel::deadline_wheel(clock::duration tick, clock::time_point now)
    : tick_(tick), swept_(tick_of(now) - 1)
{
}

std::pair<wheel_time, deadline_wheel::clock::time_point> deadline_wheel::file(auto_unlink_hook& e,
                                                                              clock::time_point at)
{
    if (e.is_linked()) e.unlink();
    if (at == clock::time_point::max()) {
        unarmed_.push_back(e);
        return {wheel_time{}, clock::time_point::max()};
    }
    const auto tick = std::clamp(tick_of(at), swept_ + 1, swept_ + farthest);
    slot(tick).push_back(e);
    return {wheel_time{true, static_cast<std::uint32_t>(tick)}, end_of(tick)};
}

deadline_wheel::clock::time_point deadline_wheel::next_sweep() const
{
    for (std::int64_t t = swept_ + 1; t <= swept_ + static_cast<std::int64_t>(slots); ++t)
        if (!wheel_[static_cast<std::size_t>(t) % slots].empty()) return end_of(t);
    return clock::time_point::max();
}

}  // namespace sluice::proxy
