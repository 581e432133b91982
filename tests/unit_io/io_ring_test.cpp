#include "net/io_ring.hpp"

#include "tests/unit_io/socket_pair.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <sys/socket.h>
#include <unistd.h>

namespace sluice::net {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;

using pair = testing::socket_pair;

struct outcome {
    bool done = false;
    error_code ec;
    std::size_t n = 0;
};

awaitable<void> send_one(io_ring& ring, int fd, std::string_view data, outcome& out)
{
    std::tie(out.ec, out.n) = co_await ring.send(fd, asio::buffer(data));
    out.done = true;
}

class io_ring_test : public ::testing::Test {
protected:
    void SetUp() override
    {
        if (!ring.on()) GTEST_SKIP() << "no io_uring here: " << ring.why_off();
    }
    void start(int fd, std::string_view data, outcome& out)
    {
        asio::co_spawn(io.get_executor(), send_one(ring, fd, data, out), asio::detached);
    }
    void settle()
    {
        io.restart();
        while (io.poll() > 0) {
        }
    }
    asio::io_context io{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
    io_ring ring{io, true};
};

TEST(io_ring_off, says_why_when_the_configuration_turns_it_off)
{
    asio::io_context io;
    io_ring ring{io, false};
    EXPECT_FALSE(ring.on());
    EXPECT_NE(ring.why_off().find("io_uring: off"), std::string::npos) << ring.why_off();
}

TEST_F(io_ring_test, sends_made_in_one_turn_each_arrive_whole)
{
    pair a, b, c;
    outcome oa, ob, oc;
    const std::string large(20000, 'x');
    start(a.ours, "first", oa);
    start(b.ours, "second", ob);
    start(c.ours, large, oc);
    settle();
    ASSERT_TRUE(oa.done && ob.done && oc.done);
    EXPECT_FALSE(oa.ec || ob.ec || oc.ec) << oa.ec.message() << ob.ec.message() << oc.ec.message();
    EXPECT_EQ(a.drain(), "first");
    EXPECT_EQ(b.drain(), "second");
    EXPECT_EQ(oc.n, 20000u);
    EXPECT_TRUE(c.drain() == large);
}

TEST_F(io_ring_test, a_send_waits_for_no_more_than_its_turn)
{
    pair p;
    // Fill the socket until it takes nothing more.
    const std::string chunk(65536, 'f');
    while (::send(p.ours, chunk.data(), chunk.size(), MSG_DONTWAIT) > 0) {
    }
    outcome full;
    start(p.ours, "later", full);
    settle();
    ASSERT_TRUE(full.done) << "a send on a full socket must not wait inside the kernel";
    EXPECT_EQ(full.ec, asio::error::would_block);
    EXPECT_EQ(full.n, 0u);

    // Room for part of a large send: it takes what fits, as send(2) would.
    ASSERT_FALSE(p.drain().empty());
    const std::string big(1 << 20, 'b');
    outcome part;
    start(p.ours, big, part);
    settle();
    ASSERT_TRUE(part.done);
    EXPECT_FALSE(part.ec) << part.ec.message();
    EXPECT_GT(part.n, 0u);
    EXPECT_LT(part.n, big.size());
}

TEST_F(io_ring_test, a_send_to_a_peer_that_left_fails_without_a_signal)
{
    pair p;
    ::close(p.peer);
    p.peer = -1;
    outcome o;
    start(p.ours, "nobody", o);
    settle();  // SIGPIPE would end this process here
    ASSERT_TRUE(o.done);
    EXPECT_EQ(o.ec, asio::error::broken_pipe) << o.ec.message();
}

// A coroutine's frame is destroyed with the ring when the event loop never ran its flush, as
// Asio destroys the handlers of operations still pending when it is destroyed.
struct frame_guard {
    bool* gone;
    ~frame_guard() { *gone = true; }
};

awaitable<void> send_guarded(io_ring& ring, int fd, bool& resumed, bool& gone)
{
    frame_guard g{&gone};
    co_await ring.send(fd, asio::buffer("never", 5));
    resumed = true;
}

TEST(io_ring_exit, a_send_never_flushed_is_destroyed_with_the_ring_not_resumed)
{
    pair p;
    bool resumed = false, gone = false;
    {
        asio::io_context io{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
        auto ring = std::make_unique<io_ring>(io, true);
        if (!ring->on()) GTEST_SKIP() << "no io_uring here: " << ring->why_off();
        asio::co_spawn(io.get_executor(), send_guarded(*ring, p.ours, resumed, gone),
                       asio::detached);
        io.run_one();  // starts the coroutine, which queues its send and posts the flush
        ring.reset();
    }
    EXPECT_FALSE(resumed);
    EXPECT_TRUE(gone);
    EXPECT_EQ(p.drain(), "");
}

TEST_F(io_ring_test, flush_sends_at_once_what_was_queued)
{
    pair p;
    outcome o;
    start(p.ours, "now", o);
    io.run_one();  // the coroutine queues its send; the posted flush has not run
    EXPECT_FALSE(o.done);
    ring.flush();
    EXPECT_TRUE(o.done);
    EXPECT_EQ(p.drain(), "now");
}

}  // namespace
}  // namespace sluice::net
