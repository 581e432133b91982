// net::signal_reader with real signals, sent to the test's own thread (pthread_kill) so that no
// other thread of the test process can take them: they wait blocked until the loop reads them,
// and the reader leaves the thread as it found it.

#include "net/signal_reader.hpp"

#include <gtest/gtest.h>

#include <pthread.h>
#include <signal.h>

#include <array>
#include <vector>

namespace sluice::net {
namespace {

bool blocked(int signal)
{
    sigset_t now;
    pthread_sigmask(SIG_BLOCK, nullptr, &now);
    return sigismember(&now, signal) == 1;
}

TEST(signal_reader, signals_wait_blocked_until_the_loop_reads_them)
{
    boost::asio::io_context io;
    std::vector<int> seen;
    std::size_t awaited = 2;
    {
        signal_reader reader(io, std::array{SIGUSR1, SIGUSR2});
        EXPECT_TRUE(blocked(SIGUSR1));
        reader.start([&](int s) {
            seen.push_back(s);
            if (seen.size() == awaited) io.stop();
        });
        pthread_kill(pthread_self(), SIGUSR1);
        pthread_kill(pthread_self(), SIGUSR2);
        io.run_for(std::chrono::seconds(10));
        EXPECT_EQ(seen, (std::vector<int>{SIGUSR1, SIGUSR2}));
        // Sent twice before the loop reads: the kernel keeps one pending.
        awaited = 3;
        pthread_kill(pthread_self(), SIGUSR1);
        pthread_kill(pthread_self(), SIGUSR1);
        io.restart();
        io.run_for(std::chrono::seconds(10));
        io.restart();
        io.poll();  // a second one would be readable by now
        EXPECT_EQ(seen, (std::vector<int>{SIGUSR1, SIGUSR2, SIGUSR1}));
    }
    EXPECT_FALSE(blocked(SIGUSR1));
}

// One still pending at the end is dropped, not let loose on a thread whose mask is given back
// (SIGUSR1's default action would end this test binary).
TEST(signal_reader, a_signal_still_pending_at_the_end_is_dropped)
{
    boost::asio::io_context io;
    {
        signal_reader reader(io, std::array{SIGUSR1});
        reader.start([](int) { ADD_FAILURE() << "the loop never ran"; });
        pthread_kill(pthread_self(), SIGUSR1);
    }
    EXPECT_FALSE(blocked(SIGUSR1));
    sigset_t pending;
    sigpending(&pending);
    EXPECT_EQ(sigismember(&pending, SIGUSR1), 0);
}

}  // namespace
}  // namespace sluice::net
