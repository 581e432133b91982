#pragma once
// The stop and reload signals (SIGTERM, SIGINT, SIGHUP) are the control thread's alone: every
// other thread the proxy starts is born with them blocked, so the kernel hands them to the one
// thread that waits for them (runtime::run's asio::signal_set).
//
// Why not any thread, as Asio allows: under ThreadSanitizer a signal that lands on a thread inside
// a system call it does not intercept (io_uring_enter, splice) is handled only when that thread
// next enters one it does, and an idle worker then sleeps for seconds with a SIGTERM in hand
// (a drain test that failed now and then under `make tsan`). A signal taken where it is waited
// for also costs no other thread an interruption.

#include <signal.h>

#include <thread>
#include <utility>

namespace sluice::net {

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
