#include "net/thread_signals.hpp"

#include <pthread.h>
#include <signal.h>

namespace sluice::net {

void leave_stop_signals_to_the_control_thread()
{
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop, nullptr);
}

}  // namespace sluice::net
