#pragma once
// Signals read from a signalfd in an event loop rather than taken by a handler: the control
// thread's stop and reload signals (SIGTERM, SIGINT, SIGHUP). They stay blocked in every thread
// (in the constructing thread from its construction on, in every other thread the proxy starts
// from its birth: net/thread_signals.hpp), so the kernel keeps each one pending until the loop
// reads it, whatever the threads are doing meanwhile.
//
// Why not a handler (Asio's signal_set, as before): under ThreadSanitizer a handler runs only
// where TSan lets it, at a call it intercepts, and a drain test still saw SIGTERM go unhandled
// for seconds now and then under `make tsan` with the signal steered to the control thread. A
// readable descriptor takes no such path; and no thread is ever interrupted by these signals.

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <functional>
#include <span>

#include <signal.h>

namespace sluice::net {

class signal_reader {
public:
    // Blocks `signals` in the calling thread. Throws std::runtime_error when the kernel refuses
    // a signalfd.
    signal_reader(boost::asio::io_context& io, std::span<const int> signals);
    // Drops what is still pending and gives the calling thread its mask back, so that a signal
    // during the rest of the exit has its default effect (SIGTERM ends a hung exit), as after
    // Asio's signal_set. Destroy it on the thread that built it.
    ~signal_reader();
    signal_reader(const signal_reader&) = delete;
    signal_reader& operator=(const signal_reader&) = delete;

    // Calls `on_signal` with each signal's number as it is read, on `io`'s thread, for as long
    // as `io` runs. Once. A signal sent again before the loop has read it is read once, as the
    // kernel keeps one of each standard signal pending.
    void start(std::function<void(int)> on_signal);

private:
    void read_next();
    // Reads every signal that waits, giving each to `each`.
    template <class F>
    void read_waiting(F&& each);

    sigset_t saved_mask_;
    boost::asio::posix::stream_descriptor fd_;
    std::function<void(int)> on_signal_;
};

}  // namespace sluice::net
