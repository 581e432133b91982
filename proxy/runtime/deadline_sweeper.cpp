#include "proxy/runtime/deadline_sweeper.hpp"

#include <sys/socket.h>

namespace sluice::proxy {

deadline::deadline(deadline_sweeper& sweeper, socket_type& socket)
    : sweeper_(&sweeper), socket_(socket)
{
    sweeper.wheel_.file(*this, clock::time_point::max());
}

void deadline::end_wait()
{
    boost::system::error_code ignored;
    if (aside_fd_ >= 0)
        ::shutdown(aside_fd_, SHUT_RD);
    else
        socket_.cancel(ignored);
}

void deadline::close_now()
{
    boost::system::error_code ignored;
    if (aside_fd_ >= 0)
        end_wait();  // its owner closes it once woken
    else
        socket_.close(ignored);
}

deadline_sweeper::deadline_sweeper(boost::asio::io_context& io, clock::duration tick)
    : timer_(io), wheel_(tick, clock::now())
{
}

void deadline_sweeper::stop()
{
    stopped_ = true;
    timer_.cancel();
}

void deadline_sweeper::close_all()
{
    wheel_.for_each([](auto_unlink_hook& e) { static_cast<deadline&>(e).close_now(); });
}

void deadline_sweeper::cancel_parked()
{
    wheel_.for_each([](auto_unlink_hook& e) {
        auto& d = static_cast<deadline&>(e);
        if (!d.parked_) return;
        // As its deadline would: a wait between two steps (a read through the worker's ring,
        // proxy/session/ring_read.hpp) has no operation to cancel, and sees this instead.
        d.expired_ = true;
        d.end_wait();
    });
}

void deadline_sweeper::file(deadline& d, clock::time_point at)
{
    const auto [when, swept_at] = wheel_.file(d, at);
    d.tick_ = when.tick;
    d.armed_ = when.armed;
    if (swept_at < wake_at_) wake_at(swept_at);
}

void deadline_sweeper::wake_at(clock::time_point t)
{
    if (stopped_) return;
    wake_at_ = t;
    timer_.expires_at(t);  // a wait for a later time completes with operation_aborted
    timer_.async_wait([this](boost::system::error_code ec) {
        if (ec || stopped_) return;
        sweep();
    });
}

void deadline_sweeper::sweep()
{
    wake_at_ = clock::time_point::max();
    // clock::now(), not coarse_now(): the coarse clock may not have reached the tick's end yet.
    const auto when = [](auto_unlink_hook& e) {
        const auto& d = static_cast<deadline&>(e);
        return wheel_time{d.armed_, d.tick_};
    };
    wheel_.sweep(clock::now(), when, [](auto_unlink_hook& e) {
        auto& d = static_cast<deadline&>(e);
        d.armed_ = false;
        d.expired_ = true;
        d.end_wait();
    });
    if (const auto next = wheel_.next_sweep(); next != clock::time_point::max()) wake_at(next);
}

}  // namespace sluice::proxy
