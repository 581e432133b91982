// net::splice_pipe and its pool on real sockets: bytes move through in order, every call returns at
// once, and a pipe that still holds bytes never serves another relay.

#include "net/splice_pipe.hpp"

#include "socket_pair.hpp"

#include <boost/asio/error.hpp>

#include <gtest/gtest.h>

#include <sys/socket.h>

#include <string>

namespace sluice::net {
namespace {

using testing::socket_pair;
namespace error = boost::asio::error;

class splice_pipe_test : public ::testing::Test {
protected:
    void SetUp() override
    {
        if (!pool.on()) GTEST_SKIP() << "no splice here: " << pool.why_off();
    }
    pipe_pool pool{true};
};

std::string numbered(std::size_t size)
{
    std::string s(size, '\0');
    for (std::size_t i = 0; i < size; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
    return s;
}

// Sends all of `data` on `fd`, blocking-style on a non-blocking socket (the peer is drained by the
// pipe in between, so the test never sends more than the socket holds).
void send_all(int fd, const std::string& data)
{
    ASSERT_EQ(::send(fd, data.data(), data.size(), MSG_NOSIGNAL), ssize_t(data.size()));
}

TEST_F(splice_pipe_test, bytes_pass_from_one_socket_to_another_in_order)
{
    socket_pair in, out;
    auto pipe = pool.take();
    ASSERT_TRUE(pipe.valid());
    EXPECT_GE(pipe.capacity(), 65536u);
    const auto data = numbered(100000);
    std::string got;
    for (std::size_t sent = 0; sent < data.size(); sent += 20000) {
        send_all(in.peer, data.substr(sent, 20000));
        boost::system::error_code ec;
        EXPECT_EQ(pipe.fill(in.ours, 1 << 20, ec), 20000u) << ec.message();
        EXPECT_EQ(pipe.held(), 20000u);
        EXPECT_EQ(pipe.drain(out.ours, pipe.held(), ec), 20000u) << ec.message();
        EXPECT_EQ(pipe.held(), 0u);
        got += out.drain();
    }
    EXPECT_EQ(got, data);
}

TEST_F(splice_pipe_test, an_empty_socket_would_block_and_a_closed_one_reads_zero)
{
    socket_pair in;
    auto pipe = pool.take();
    boost::system::error_code ec;
    EXPECT_EQ(pipe.fill(in.ours, 4096, ec), 0u);
    EXPECT_EQ(ec, error::would_block);
    ::close(in.peer);
    in.peer = -1;
    EXPECT_EQ(pipe.fill(in.ours, 4096, ec), 0u);
    EXPECT_FALSE(ec) << ec.message();
}

TEST_F(splice_pipe_test, a_full_socket_would_block_and_the_pipe_keeps_its_bytes)
{
    socket_pair in, out;
    const std::string filler(1 << 20, 'f');
    while (::send(out.ours, filler.data(), filler.size(), MSG_NOSIGNAL) > 0) {
    }
    auto pipe = pool.take();
    send_all(in.peer, numbered(5000));
    boost::system::error_code ec;
    ASSERT_EQ(pipe.fill(in.ours, 5000, ec), 5000u);
    EXPECT_EQ(pipe.drain(out.ours, 5000, ec), 0u);
    EXPECT_EQ(ec, error::would_block);
    EXPECT_EQ(pipe.held(), 5000u);
}

TEST_F(splice_pipe_test, held_bytes_can_be_copied_out_in_order_and_the_pipe_is_empty_after)
{
    socket_pair in;
    auto pipe = pool.take();
    const auto data = numbered(30000);
    send_all(in.peer, data);
    boost::system::error_code ec;
    ASSERT_EQ(pipe.fill(in.ours, data.size(), ec), data.size()) << ec.message();
    std::string got(data.size(), '\0');
    EXPECT_EQ(pipe.copy_out(got.data(), 10000, ec), 10000u) << ec.message();
    EXPECT_EQ(pipe.held(), 20000u);
    EXPECT_EQ(pipe.copy_out(got.data() + 10000, 50000, ec), 20000u) << ec.message();
    EXPECT_EQ(pipe.held(), 0u);
    EXPECT_EQ(got, data);
    EXPECT_EQ(pipe.copy_out(got.data(), 1, ec), 0u);
    EXPECT_EQ(ec, error::would_block);
}

// splice(2) into a socket whose peer has gone raises SIGPIPE, which would end this process: the
// pool ignores the signal, and the call fails like a send.
TEST_F(splice_pipe_test, a_gone_peer_fails_the_drain_without_ending_the_process)
{
    socket_pair in, out;
    auto pipe = pool.take();
    send_all(in.peer, "hello");
    boost::system::error_code ec;
    ASSERT_EQ(pipe.fill(in.ours, 5, ec), 5u);
    ::close(out.peer);
    out.peer = -1;
    EXPECT_EQ(pipe.drain(out.ours, 5, ec), 0u);
    EXPECT_TRUE(ec == error::broken_pipe || ec == error::connection_reset) << ec.message();
}

TEST_F(splice_pipe_test, a_pipe_given_back_with_bytes_is_closed_not_lent_again)
{
    socket_pair in;
    auto pipe = pool.take();
    send_all(in.peer, "left over");
    boost::system::error_code ec;
    ASSERT_EQ(pipe.fill(in.ours, 64, ec), 9u);
    pool.give_back(std::move(pipe));
    auto next = pool.take();
    ASSERT_TRUE(next.valid());
    EXPECT_EQ(next.held(), 0u);
    socket_pair out;
    EXPECT_EQ(next.drain(out.ours, 64, ec), 0u);  // nothing in it to drain
    EXPECT_EQ(ec, error::would_block);
}

TEST(pipe_pool, off_says_why)
{
    pipe_pool pool{false};
    EXPECT_FALSE(pool.on());
    EXPECT_NE(pool.why_off().find("off"), std::string::npos) << pool.why_off();
}

}  // namespace
}  // namespace sluice::net
