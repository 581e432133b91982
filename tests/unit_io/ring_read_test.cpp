#include "proxy/session/ring_read.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/generic/stream_protocol.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>

#include <sys/socket.h>
#include <unistd.h>

namespace sluice::proxy {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;
using namespace std::chrono_literals;

struct read_outcome {
    error_code ec;
    std::string bytes;
};

class ring_read_test : public ::testing::Test {
protected:
    void SetUp() override
    {
        if (!ring.on()) GTEST_SKIP() << "no io_uring here: " << ring.why_off();
        int fds[2];
        ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
        ours.assign(asio::generic::stream_protocol(AF_UNIX, SOCK_STREAM), fds[0]);
        ours.non_blocking(true);
        peer = fds[1];
    }
    void TearDown() override
    {
        if (peer >= 0) ::close(peer);
    }

    void start_read()
    {
        asio::co_spawn(
            io.get_executor(),
            [this]() -> awaitable<void> {
                char buf[64];
                auto [ec, n] = co_await read_in_turn(ring, ours, d, asio::buffer(buf));
                got.emplace(read_outcome{ec, std::string(buf, n)});
            },
            asio::detached);
    }
    void settle()
    {
        io.restart();
        while (io.poll() > 0) {
        }
    }

    asio::io_context io{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
    net::io_ring ring{io, true};
    deadline_sweeper sweeper{io, 5ms};
    socket_type ours{io};
    deadline d{sweeper, ours};
    int peer = -1;
    std::optional<read_outcome> got;
};

TEST_F(ring_read_test, waits_for_bytes_then_reads_what_has_arrived)
{
    d.arm(10s);
    start_read();
    settle();
    EXPECT_FALSE(got) << "nothing sent yet";
    ASSERT_EQ(::write(peer, "GET / HTTP/1.1\r\n", 16), 16);
    settle();
    ASSERT_TRUE(got);
    EXPECT_FALSE(got->ec) << got->ec.message();
    EXPECT_EQ(got->bytes, "GET / HTTP/1.1\r\n");
}

TEST_F(ring_read_test, a_peer_that_shuts_down_reads_as_eof)
{
    d.arm(10s);
    start_read();
    settle();
    ::close(peer);
    peer = -1;
    settle();
    ASSERT_TRUE(got);
    EXPECT_EQ(got->ec, asio::error::eof);
}

TEST_F(ring_read_test, a_deadline_that_passes_ends_the_wait)
{
    d.arm(20ms);
    start_read();
    for (int i = 0; i < 200 && !got; ++i) io.run_for(10ms);
    ASSERT_TRUE(got) << "the deadline did not end the read";
    EXPECT_EQ(got->ec, asio::error::operation_aborted);
    EXPECT_TRUE(d.expired());
}

// A drain reaches a read between its wait and its recv (queued for the turn's flush), when the
// reactor has no operation of the socket's to cancel: the read must not wait again.
TEST_F(ring_read_test, a_drain_between_the_wait_and_the_recv_ends_the_read)
{
    d.arm(10s);
    d.park();
    ASSERT_EQ(::write(peer, "x", 1), 1);
    start_read();
    io.run_one();  // the coroutine starts: bytes may be there, so its recv is queued at once
    char byte;
    ASSERT_EQ(::read(ours.native_handle(), &byte, 1), 1);  // ...and finds none when it runs
    sweeper.cancel_parked();
    settle();
    ASSERT_TRUE(got) << "the read waited again after the drain";
    EXPECT_EQ(got->ec, asio::error::operation_aborted);
}

}  // namespace
}  // namespace sluice::proxy
