// The pool's count, read by other threads, and the closing of its longest idle connection that a
// thread short of a worker asks for (upstream_attempt.cpp, free_idle_elsewhere).

#include "proxy/backend/connection_pool.hpp"
#include "proxy/runtime/deadline_sweeper.hpp"

#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

#include <chrono>

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

TEST(connection_pool, the_count_follows_puts_takes_and_drops_and_the_oldest_goes_first)
{
    boost::asio::io_context io;
    deadline_sweeper sweeper{io, 5ms};
    connection_pool pool;
    auto first = std::make_unique<upstream_connection>(io, sweeper);
    auto second = std::make_unique<upstream_connection>(io, sweeper);
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

}  // namespace
}  // namespace sluice::proxy
