#include "proxy/runtime/deadline_wheel.hpp"

namespace sluice::proxy {

deadline_wheel::deadline_wheel(clock::duration tick, clock::time_point now)
    : tick_(tick), swept_(tick_of(now) - 1)
{
}

deadline_wheel::clock::time_point deadline_wheel::file(wheel_entry& e)
{
    if (e.is_linked()) e.unlink();
    if (!e.armed()) {
        unarmed_.push_back(e);
        return clock::time_point::max();
    }
    const auto tick = std::max(tick_of(e.at()), swept_ + 1);
    slot(tick).push_back(e);
    return end_of(tick);
}

deadline_wheel::clock::time_point deadline_wheel::next_sweep() const
{
    for (std::int64_t t = swept_ + 1; t <= swept_ + static_cast<std::int64_t>(slots); ++t)
        if (!wheel_[static_cast<std::size_t>(t) % slots].empty()) return end_of(t);
    return clock::time_point::max();
}

}  // namespace sluice::proxy
