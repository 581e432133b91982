#pragma once
// Timeouts for every socket operation of one event-loop thread, without a timer per operation.
//
// Each connection owns a `deadline` that it arms before an operation (a clock read and a relink
// in the thread's deadline_wheel) and disarms after (a store). One timer per thread sleeps until
// the first tick whose slot holds a deadline, then cancels the socket of each one that has
// passed; the pending operation completes with operation_aborted and the owner sees
// `expired()`. Precision is one tick, which is fine for timeouts an operator sets in hundreds of
// milliseconds or more, and it keeps the hot path free of timer-queue churn: the timer moves
// only when a deadline falls before its next wakeup. Not thread-safe: a deadline is used only on
// its sweeper's thread.

#include "net/io_types.hpp"
#include "proxy/runtime/deadline_wheel.hpp"

#include <boost/asio/steady_timer.hpp>

#include <utility>

namespace sluice::proxy {

class deadline_sweeper;

class deadline : public auto_unlink_hook {
public:
    deadline(deadline_sweeper& sweeper, socket_type& socket);
    deadline(const deadline&) = delete;
    deadline& operator=(const deadline&) = delete;

    void arm(clock::duration d) { arm_at(coarse_now() + d); }
    void arm_at(clock::time_point at);
    void disarm() { armed_ = false; }
    bool expired() const { return expired_; }

    // A client connection between requests is parked, so that a drain can close it at once
    // (deadline_sweeper::cancel_parked). A flag here rather than a list of its own: every
    // connection is in the sweeper's wheel already, and an idle one costs 24 bytes less.
    void park() { parked_ = true; }
    void unpark() { parked_ = false; }

    // While a parked connection's socket waits in its worker's idle_set, released from Asio, a
    // timeout, a drain or close_all shuts it for reading, which wakes it there.
    void set_aside(int fd)
    {
        aside_fd_ = fd;
        was_aside_ = true;
    }
    int take_back() { return std::exchange(aside_fd_, -1); }
    // Its socket waited in the idle_set before: the set still holds it, disarmed, until it closes.
    bool was_aside() const { return was_aside_; }

private:
    friend class deadline_sweeper;
    void end_wait();
    void close_now();

    // 44 bytes: the owner may put bytes of its own in the padding after them (client_connection
    // does).
    deadline_sweeper* sweeper_;
    socket_type& socket_;
    std::uint32_t tick_ = 0;  // deadline_wheel's, while armed
    int aside_fd_ = -1;       // set_aside's
    bool armed_ = false;
    bool expired_ = false;
    bool parked_ = false;
    bool was_aside_ = false;
};

class deadline_sweeper {
public:
    deadline_sweeper(boost::asio::io_context& io, clock::duration tick);
    // No wakeups after this; deadlines stay armed, for close_all.
    void stop();
    // Closes the socket of every connection on this thread: at exit, so that each one unwinds
    // (and unlinks itself) while the sweeper and the io_context still exist.
    void close_all();
    // Cancels the pending wait of every parked connection, which then closes; each reads as
    // expired().
    void cancel_parked();

private:
    friend class deadline;
    void file(deadline& d, clock::time_point at);
    void wake_at(clock::time_point t);
    void sweep();

    boost::asio::steady_timer timer_;
    deadline_wheel wheel_;
    clock::time_point wake_at_ = clock::time_point::max();  // max: the timer is not waiting
    bool stopped_ = false;
};

inline void deadline::arm_at(clock::time_point at)
{
    expired_ = false;
    sweeper_->file(*this, at);
}

}  // namespace sluice::proxy
