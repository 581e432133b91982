// The pool's count, read by other threads, the closing of its longest idle connection that a
// thread short of a worker asks for (upstream_attempt.cpp, free_idle_elsewhere), and what it
// checks before a connection carries a request.

#include "proxy/backend/connection_pool.hpp"
#include "proxy/runtime/deadline_sweeper.hpp"

#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

#include <sys/socket.h>
#include <unistd.h>

namespace sluice::proxy {
namespace {

using namespace std::chrono_literals;

TEST(connection_pool, idle_connections_hold_workers_only_past_max_connections)
{
    EXPECT_TRUE(idle_holds_workers(1, 1, 1)) << "the one worker sits with an idle connection";
    EXPECT_FALSE(idle_holds_workers(1, 2, 1)) << "a second worker is free";
    EXPECT_TRUE(idle_holds_workers(2, 2, 1));
    EXPECT_FALSE(idle_holds_workers(1, 1, 0));
    EXPECT_FALSE(idle_holds_workers(5, 0, 9)) << "no max_connections: nothing to count against";
}

// Connections open to a "server": the other end of each is the test's.
struct server_ends {
    boost::asio::io_context io;
    deadline_sweeper sweeper{io, 5ms};
    std::vector<int> ends;

    std::unique_ptr<upstream_connection> open()
    {
        int fds[2];
        EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
        auto c = std::make_unique<upstream_connection>(io, sweeper);
        c->socket.assign(boost::asio::generic::stream_protocol(AF_UNIX, 0), fds[0]);
        ends.push_back(fds[1]);
        return c;
    }
    ~server_ends()
    {
        for (int fd : ends) ::close(fd);
    }
};

TEST(connection_pool, the_count_follows_puts_takes_and_drops_and_the_oldest_goes_first)
{
    server_ends servers;
    connection_pool pool;
    auto first = servers.open();
    auto second = servers.open();
    const auto* newer = second.get();
    pool.put(std::move(first), 4);
    pool.put(std::move(second), 4);
    EXPECT_EQ(pool.idle_count(), 2u);

    pool.drop_oldest();
    EXPECT_EQ(pool.idle_count(), 1u);
    auto kept = pool.take(1h, false);
    EXPECT_EQ(kept.get(), newer) << "the connection used last was closed instead of the oldest";
    EXPECT_EQ(pool.idle_count(), 0u);

    pool.drop_oldest();  // nothing to drop
    EXPECT_EQ(pool.idle_count(), 0u);
    pool.put(std::move(kept), 4);
    pool.clear();
    EXPECT_EQ(pool.idle_count(), 0u);
}

// A connection its server has sent bytes on since the response (they would be read as the next
// response) or closed is not taken, moments after its last use or not.
TEST(connection_pool, a_connection_its_server_sent_bytes_on_or_closed_is_not_taken)
{
    server_ends servers;
    connection_pool pool;
    pool.put(servers.open(), 4);
    ASSERT_EQ(::write(servers.ends.back(), "HTTP/1.1 200 OK\r\n", 17), 17);
    EXPECT_EQ(pool.take(1h, false), nullptr);

    pool.put(servers.open(), 4);
    ::shutdown(servers.ends.back(), SHUT_WR);
    EXPECT_EQ(pool.take(1h, false), nullptr);

    auto quiet = servers.open();
    const auto* expected = quiet.get();
    pool.put(std::move(quiet), 4);
    EXPECT_EQ(pool.take(1h, false).get(), expected);
    EXPECT_EQ(pool.idle_count(), 0u);
}

}  // namespace
}  // namespace sluice::proxy
