#pragma once
// Armed deadlines filed by the tick they fall in (a hashed timing wheel), so that a sweep visits
// only the slots whose time has come, not every connection of the thread, and the thread can
// sleep until the first slot that holds anything: an idle proxy with ten thousand keep-alive
// clients wakes for them a few times a minute, not fifty times a second.
//
// Filing is a relink (a few pointer stores); disarming is one store, and the entry leaves its
// slot when the sweep next passes. An entry further away than one revolution waits in its slot
// and is looked at once per revolution until it is due. Pure: the caller passes the time.
//
// The owner keeps an entry's tick in 32 bits (with 20 ms ticks the count wraps every 2.7 years,
// which the comparisons allow for), 4 bytes where a time point would take 8 in every connection.

#include <boost/intrusive/list.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <utility>

namespace sluice::proxy {

// Unlinks itself when destroyed (and a list destroyed first unlinks all of its entries), so
// neither may outlive the other by accident.
using auto_unlink_hook =
    boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>>;

template <class T>
using auto_unlink_list = boost::intrusive::list<T, boost::intrusive::constant_time_size<false>>;

// Where an entry stands: not armed, or due at the end of a tick (its count modulo 2^32).
struct wheel_time {
    bool armed = false;
    std::uint32_t tick = 0;
};

class deadline_wheel {
public:
    using clock = std::chrono::steady_clock;
    // One revolution is slots x tick.
    static constexpr std::size_t slots = 1024;
    // A deadline further away is filed this far out (about 248 days with 20 ms ticks), so that
    // the 32-bit comparisons hold.
    static constexpr std::int64_t farthest = std::int64_t{1} << 30;

    deadline_wheel(clock::duration tick, clock::time_point now);

    // Files `e`, whose time is `at` (max: unarmed), in the slot of its tick (the next one to be
    // swept when that tick has passed already) or with the unarmed. Returns where it stands,
    // which the owner keeps for when(), and when its slot will be swept (max for the unarmed).
    std::pair<wheel_time, clock::time_point> file(auto_unlink_hook& e, clock::time_point at);

    // Visits the slots of every tick that ended by `now` since the last sweep and calls due(e)
    // for each entry whose tick has come, after moving it to the unarmed; disarmed entries met
    // on the way move there too. `when(e)` gives an entry's wheel_time; `due` must not file
    // entries.
    template <class When, class Due>
    void sweep(clock::time_point now, When&& when, Due&& due);

    // When the next sweep has something to visit: the end of the first tick after the last
    // sweep whose slot holds an entry; max when the wheel is empty.
    clock::time_point next_sweep() const;

    // Every entry, armed or not.
    template <class F>
    void for_each(F&& f);

private:
    using list = auto_unlink_list<auto_unlink_hook>;
    std::int64_t tick_of(clock::time_point t) const { return t.time_since_epoch() / tick_; }
    clock::time_point end_of(std::int64_t tick) const
    {
        return clock::time_point((tick + 1) * tick_);
    }
    list& slot(std::int64_t tick) { return wheel_[static_cast<std::size_t>(tick) % slots]; }

    clock::duration tick_;
    std::int64_t swept_;  // the slots of every tick up to this one have been visited
    std::array<list, slots> wheel_;
    list unarmed_;
};

template <class When, class Due>
void deadline_wheel::sweep(clock::time_point now, When&& when, Due&& due)
{
    const auto last = tick_of(now) - 1;  // the last tick that has ended
    // After a sleep of more than a revolution, each slot is visited once, at its latest tick.
    const auto first = std::max(swept_ + 1, last - static_cast<std::int64_t>(slots) + 1);
    for (auto t = first; t <= last; ++t) {
        auto& entries = slot(t);
        for (auto it = entries.begin(); it != entries.end();) {
            auto& e = *it++;
            const wheel_time w = when(e);
            // Wrap-safe: a later revolution's tick is ahead of t by less than 2^31.
            if (w.armed && static_cast<std::int32_t>(w.tick - static_cast<std::uint32_t>(t)) > 0)
                continue;
            e.unlink();
            unarmed_.push_back(e);
            if (w.armed) due(e);
        }
    }
    swept_ = std::max(swept_, last);
}

template <class F>
void deadline_wheel::for_each(F&& f)
{
    for (auto& entries : wheel_)
        for (auto& e : entries) f(e);
    for (auto& e : unarmed_) f(e);
}

}  // namespace sluice::proxy
