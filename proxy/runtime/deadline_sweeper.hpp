#pragma once
// Timeouts for every socket operation of one event-loop thread, without a timer per operation.
//
// Each connection owns a `deadline` that it arms before an operation (a store and a clock read)
// and disarms after. One timer per thread sweeps the armed deadlines every `tick` and cancels the
// socket of each one that has passed; the pending operation then completes with
// operation_aborted and the owner sees `expired()`. Precision is one tick, which is fine for
// timeouts an operator sets in hundreds of milliseconds or more, and it keeps the hot path free
// of timer-queue churn. Not thread-safe: a deadline is used only on its sweeper's thread.

#include "net/io_types.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/intrusive/list.hpp>

namespace sluice::proxy {

class deadline_sweeper;

// Unlinks itself when destroyed (and a sweeper destroyed first unlinks all of them), so neither
// may outlive the other by accident.
using auto_unlink_hook =
    boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>>;

template <class T>
using auto_unlink_list = boost::intrusive::list<T, boost::intrusive::constant_time_size<false>>;

class deadline : public auto_unlink_hook {
public:
    deadline(deadline_sweeper& sweeper, socket_type& socket);
    deadline(const deadline&) = delete;
    deadline& operator=(const deadline&) = delete;

    void arm(clock::duration d) { arm_at(coarse_now() + d); }
    void arm_at(clock::time_point at)
    {
        at_ = at;
        expired_ = false;
    }
    void disarm() { at_ = clock::time_point::max(); }
    bool expired() const { return expired_; }

    // A client connection between requests is parked, so that a drain can close it at once
    // (deadline_sweeper::cancel_parked). A flag here rather than a list of its own: every
    // connection is in the sweeper's list already, and an idle one costs 24 bytes less.
    void park() { parked_ = true; }
    void unpark() { parked_ = false; }

private:
    friend class deadline_sweeper;
    socket_type& socket_;
    clock::time_point at_ = clock::time_point::max();
    bool expired_ = false;
    bool parked_ = false;
};

class deadline_sweeper {
public:
    deadline_sweeper(boost::asio::io_context& io, clock::duration tick);
    void start();
    void stop();
    // Closes the socket of every connection on this thread: at exit, so that each one unwinds
    // (and unlinks itself) while the sweeper and the io_context still exist.
    void close_all();
    // Cancels the pending wait of every parked connection, which then closes.
    void cancel_parked();

private:
    friend class deadline;
    void sweep();
    void schedule();

    boost::asio::steady_timer timer_;
    clock::duration tick_;
    auto_unlink_list<deadline> deadlines_;
    bool stopped_ = false;
};

}  // namespace sluice::proxy
