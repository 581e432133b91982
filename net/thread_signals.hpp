#pragma once
// The stop and reload signals (SIGTERM, SIGINT, SIGHUP) are read by the control thread from a
// signalfd (net/signal_reader.hpp), so they must stay blocked in every thread: every other
// thread the proxy starts is born with them blocked, so there is no moment at which one could
// take a signal meant for the control thread's loop (with no handler installed, it would end
// the process there and then).

#include <signal.h>

#include <array>
#include <span>
#include <thread>
#include <utility>

namespace sluice::net {

// The stop and reload signals, named once: the control loop reads them, every other thread
// blocks them.
inline constexpr std::array<int, 3> stop_signals{SIGTERM, SIGINT, SIGHUP};

// The set of `signals`, for pthread_sigmask and signalfd.
sigset_t signal_set_of(std::span<const int> signals);

// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread for its lifetime, then restores its mask.
class stop_signals_blocked {
public:
    stop_signals_blocked();
    ~stop_signals_blocked();
    stop_signals_blocked(const stop_signals_blocked&) = delete;
    stop_signals_blocked& operator=(const stop_signals_blocked&) = delete;

private:
    sigset_t saved_;
};

// A thread running `f` that never takes a stop or reload signal: it inherits the blocked mask at
// its creation, so there is no moment at which one could land on it.
template <class F>
std::thread thread_without_stop_signals(F&& f)
{
    stop_signals_blocked blocked;
    return std::thread(std::forward<F>(f));
}

}  // namespace sluice::net
