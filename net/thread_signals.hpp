#pragma once
// The stop and reload signals (SIGTERM, SIGINT, SIGHUP) are the control thread's alone: every
// other thread the proxy starts blocks them first thing, so the kernel hands them to the one
// thread that waits for them (runtime::run's asio::signal_set).
//
// Why not any thread, as Asio allows: under ThreadSanitizer a signal that lands on a thread inside
// a system call it does not intercept (io_uring_enter, splice) is handled only when that thread
// next enters one it does, and an idle worker then sleeps for seconds with a SIGTERM in hand
// (a drain test that failed now and then under `make tsan`). A signal taken where it is waited
// for also costs no other thread an interruption.

namespace sluice::net {

// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread (and in threads it starts later).
void leave_stop_signals_to_the_control_thread();

}  // namespace sluice::net
