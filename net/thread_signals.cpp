#include "net/thread_signals.hpp"

#include <pthread.h>

namespace sluice::net {

stop_signals_blocked::stop_signals_blocked()
{
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop, &saved_);
}

stop_signals_blocked::~stop_signals_blocked() { pthread_sigmask(SIG_SETMASK, &saved_, nullptr); }

}  // namespace sluice::net
