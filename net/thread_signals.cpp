#include "net/thread_signals.hpp"

#include <pthread.h>

namespace sluice::net {

sigset_t signal_set_of(std::span<const int> signals)
{
    sigset_t set;
    sigemptyset(&set);
    for (int s : signals) sigaddset(&set, s);
    return set;
}

stop_signals_blocked::stop_signals_blocked()
{
    const auto stop = signal_set_of(stop_signals);
    pthread_sigmask(SIG_BLOCK, &stop, &saved_);
}

stop_signals_blocked::~stop_signals_blocked() { pthread_sigmask(SIG_SETMASK, &saved_, nullptr); }

}  // namespace sluice::net
