#pragma once
// Armed deadlines filed by the tick they fall in (a hashed timing wheel), so that a sweep visits
// only the slots whose time has come, not every connection of the thread, and the thread can
// sleep until the first slot that holds anything: an idle proxy with ten thousand keep-alive
// clients wakes for them a few times a minute, not fifty times a second.
//
// Filing is a relink (a few pointer stores); disarming is one store, and the entry leaves its
// slot when the sweep next passes. An entry further away than one revolution waits in its slot
// and is looked at once per revolution until it is due. Pure: the caller passes the time.

#include <boost/intrusive/list.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace sluice::proxy {

// Unlinks itself when destroyed (and a list destroyed first unlinks all of its entries), so
// neither may outlive the other by accident.
using auto_unlink_hook =
    boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>>;

template <class T>
using auto_unlink_list = boost::intrusive::list<T, boost::intrusive::constant_time_size<false>>;

class wheel_entry : public auto_unlink_hook {
public:
    using clock = std::chrono::steady_clock;
    clock::time_point at() const { return at_; }
    bool armed() const { return at_ != clock::time_point::max(); }

protected:
    // Set by the owner; file() it after a change, except to max (disarmed).
    clock::time_point at_ = clock::time_point::max();
};

class deadline_wheel {
public:
    using clock = std::chrono::steady_clock;
    // One revolution is slots x tick.
    static constexpr std::size_t slots = 1024;

    deadline_wheel(clock::duration tick, clock::time_point now);

    // Puts `e` where its time says: the slot of its tick (the next one to be swept when that
    // tick has passed already), or with the unarmed. Returns when that slot will be swept
    // (max for the unarmed).
    clock::time_point file(wheel_entry& e);

    // Visits the slots of every tick that ended by `now` since the last sweep and calls due(e)
    // for each entry whose tick has come, after moving it to the unarmed; disarmed entries met
    // on the way move there too. `due` must not file entries.
    template <class Due>
    void sweep(clock::time_point now, Due&& due);

    // When the next sweep has something to visit: the end of the first tick after the last
    // sweep whose slot holds an entry; max when the wheel is empty.
    clock::time_point next_sweep() const;

    // Every entry, armed or not.
    template <class F>
    void for_each(F&& f);

private:
    using list = auto_unlink_list<wheel_entry>;
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

template <class Due>
void deadline_wheel::sweep(clock::time_point now, Due&& due)
{
    const auto last = tick_of(now) - 1;  // the last tick that has ended
    // After a sleep of more than a revolution, each slot is visited once, at its latest tick.
    const auto first = std::max(swept_ + 1, last - static_cast<std::int64_t>(slots) + 1);
    for (auto t = first; t <= last; ++t) {
        auto& entries = slot(t);
        for (auto it = entries.begin(); it != entries.end();) {
            auto& e = *it++;
            if (e.armed() && tick_of(e.at()) > t) continue;  // a later revolution's
            e.unlink();
            unarmed_.push_back(e);
            if (e.armed()) due(e);
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
