// splice_body on real sockets: a server's bytes reach the client through a pipe, including when the
// pipe fills by its page slots long before its byte capacity while the client holds things up, and
// with response buffering a client that holds things up does not hold the server.

#include "proxy/session/splice_relay.hpp"

#include "support/loopback.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/generic/stream_protocol.hpp>

#include <gtest/gtest.h>

#include <atomic>

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

namespace sluice::proxy {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

constexpr std::size_t page = 4096;

char body_byte(std::size_t i) { return static_cast<char>('a' + (i * 7 + i / 97) % 26); }

// The socket's SO_RCVLOWAT: 1 unless a relay raised it (net/receive_mark.hpp).
int receive_mark(int fd)
{
    int mark = 0;
    socklen_t len = sizeof mark;
    EXPECT_EQ(::getsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &mark, &len), 0);
    return mark;
}

class splice_relay_test : public ::testing::Test {
protected:
    void SetUp() override
    {
        if (!pipes.on()) GTEST_SKIP() << "no splice here: " << pipes.why_off();
        int fds[2];
        ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
        client.assign(asio::generic::stream_protocol(AF_UNIX, SOCK_STREAM), fds[0]);
        client_peer = fds[1];
    }
    // The server's side over a unix socket pair, where every write is a segment of its own.
    void connect_server_unix()
    {
        int fds[2];
        ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
        server.assign(asio::generic::stream_protocol(AF_UNIX, SOCK_STREAM), fds[0]);
        server_peer = fds[1];
    }

    void TearDown() override
    {
        for (int fd : {server_peer, client_peer, file})
            if (fd >= 0) ::close(fd);
    }

    // A TCP connection on 127.0.0.1: `server` is the proxy's end, `server_peer` the app's.
    void connect_server()
    {
        std::uint16_t port = 0;
        const int listener = test::listen_loopback(port);
        server_peer = test::connect_loopback(port);
        ASSERT_GE(server_peer, 0);
        const int fd = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        ::close(listener);
        ASSERT_GE(fd, 0);
        server.assign(asio::generic::stream_protocol(AF_INET, IPPROTO_TCP), fd);
    }

    // Sends `count` segments of `size` body bytes, each from pages of its own in a file, so that no
    // two share a page and each takes a slot of its own in a pipe.
    void send_segments(std::size_t count, std::size_t size)
    {
        char name[] = "/tmp/sluice-splice-XXXXXX";
        file = ::mkstemp(name);
        ASSERT_GE(file, 0);
        ::unlink(name);
        const std::size_t stride = (size + page - 1) / page * page;
        std::string pages(count * stride, '\0');
        for (std::size_t i = 0; i < count * size; ++i)
            pages[i / size * stride + i % size] = body_byte(i);
        ASSERT_EQ(::write(file, pages.data(), pages.size()), ssize_t(pages.size()));
        for (std::size_t i = 0; i < count; ++i) {
            off_t at = off_t(i * stride);
            ASSERT_EQ(::sendfile(server_peer, file, &at, size), ssize_t(size));
        }
    }

    // Fills the client's socket until it takes no more: the relay's writes then wait.
    std::size_t block_client()
    {
        const std::string filler(65536, '-');
        std::size_t sent = 0;
        for (ssize_t n;
             (n = ::send(client.native_handle(), filler.data(), filler.size(), MSG_NOSIGNAL)) > 0;)
            sent += std::size_t(n);
        return sent;
    }

    // Starts the relay of `length` bytes; with `backlog` set, as under response buffering, and
    // `waiting` bytes already in the backlog when it starts (what went with the head).
    void start(std::uint64_t length, const body_store::limits* backlog = nullptr,
               std::string waiting_bytes = "")
    {
        asio::co_spawn(
            io.get_executor(),
            [this, length, backlog, waiting_bytes]() -> awaitable<void> {
                relay_side from{server, nullptr, server_deadline, 10s, nullptr, &server_slow};
                relay_side to{client, nullptr, client_deadline, 10s, backlog};
                read_done_fn done_reading = [this](bool) { ++reads_done; };
                std::optional<class backlog> waiting;
                std::vector<char> scratch(64 * 1024);
                relay_result r;
                if (!waiting_bytes.empty()) {
                    waiting.emplace(*backlog);
                    EXPECT_TRUE(waiting->add(asio::buffer(waiting_bytes), 0, r));
                }
                co_await splice_body(pipes, pipes.take(), from, to, length, scratch, waiting, r,
                                     done_reading);
                result = r;
            },
            asio::detached);
    }

    // Runs the loop and reads what reaches the client, until the relay ends, `enough` bytes have
    // arrived or `limit` passes.
    std::string run_reading_client(std::chrono::steady_clock::duration limit,
                                   std::size_t enough = std::string::npos)
    {
        std::string got;
        char buf[65536];
        for (auto end = std::chrono::steady_clock::now() + limit;
             !result && got.size() < enough && std::chrono::steady_clock::now() < end;) {
            io.restart();
            io.poll();
            for (ssize_t n; (n = ::recv(client_peer, buf, sizeof buf, MSG_DONTWAIT)) > 0;)
                got.append(buf, std::size_t(n));
            std::this_thread::sleep_for(1ms);
        }
        for (ssize_t n; (n = ::recv(client_peer, buf, sizeof buf, MSG_DONTWAIT)) > 0;)
            got.append(buf, std::size_t(n));
        return got;
    }

    asio::io_context io{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
    deadline_sweeper sweeper{io, 5ms};
    net::pipe_pool pipes{true};
    socket_type server{io}, client{io};
    deadline server_deadline{sweeper, server}, client_deadline{sweeper, client};
    int server_peer = -1, client_peer = -1, file = -1;
    std::optional<relay_result> result;
    int reads_done = 0;        // calls of on_read_done: the relay has taken the body's last byte
    bool server_slow = false;  // upstream_connection::slow_sender
};

TEST_F(splice_relay_test, a_body_reaches_the_client_whole)
{
    connect_server();
    constexpr std::size_t size = 300000;
    std::thread app([this] { send_segments(size / 10000, 10000); });
    start(size);
    const auto got = run_reading_client(5s);
    app.join();
    ASSERT_TRUE(result) << "the relay did not end; " << got.size() << " bytes arrived";
    EXPECT_EQ(result->failed, relay_result::failure::none) << result->ec.message();
    EXPECT_EQ(result->bytes_read, size);
    EXPECT_EQ(result->bytes_written, size);
    ASSERT_EQ(got.size(), size);
    for (std::size_t i = 0; i < size; ++i) ASSERT_EQ(got[i], body_byte(i)) << "byte " << i;
}

// Segments of 1400 bytes (as from a network card), each taking a pipe slot of its own: a pipe of
// 64 slots is full at 90 KB, far below its byte capacity. The client takes nothing at first, so
// the relay fills the pipe to the last slot, and splice(2) then fails as it would for an empty
// socket. Every byte of the body is already at the proxy, so no readiness event will come: a relay
// that took the full pipe for an empty socket never ends.
TEST_F(splice_relay_test, a_pipe_full_by_its_slots_is_not_taken_for_an_empty_socket)
{
    connect_server_unix();
    constexpr std::size_t segment = 1400;
    std::string body;
    for (std::string piece(segment, '\0');; body += piece) {
        for (std::size_t i = 0; i < segment; ++i) piece[i] = body_byte(body.size() + i);
        if (::send(server_peer, piece.data(), segment, MSG_NOSIGNAL) != ssize_t(segment)) break;
    }
    ASSERT_GT(body.size(), 70 * segment) << "fewer segments queued than a pipe has slots";
    const auto filler = block_client();
    {
        // The reactor takes the server socket's readiness event before the relay starts, as it
        // has in a proxy by the time a body follows its head.
        auto busy = asio::make_work_guard(io);
        io.poll();
    }
    start(body.size());
    const auto got = run_reading_client(3s);
    ASSERT_TRUE(result) << "the relay did not end; " << got.size() << " bytes arrived";
    EXPECT_EQ(result->failed, relay_result::failure::none) << result->ec.message();
    ASSERT_EQ(got.size(), filler + body.size());
    EXPECT_EQ(got.substr(filler), body);
}

// Under response buffering a client that takes nothing must not hold the server: the relay reads
// the whole body (its slot is then free) while the client reads nothing, and the client still
// gets every byte, in order, after what was already waiting in its socket and in the backlog.
class splice_relay_backlog_test : public splice_relay_test {
protected:
    static constexpr std::size_t size = 2'000'000;

    // Relays `size` bytes from the app to a client that reads nothing until the relay has read
    // them all (or 5 s pass); then reads what reaches the client.
    // With `blocked`, the client's socket is full before the relay starts.
    std::string relay_to_a_stalled_client(const std::string& waiting_bytes, bool blocked)
    {
        connect_server();
        if (blocked) filler = block_client();
        client.non_blocking(
            true);  // as the proxy's sockets are: the backlog writes without waiting
        // A relay that waits for the client leaves the app blocked in its send: give up instead.
        const timeval limit{.tv_sec = 6, .tv_usec = 0};
        EXPECT_EQ(::setsockopt(server_peer, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit), 0);
        std::thread app([this] { send_segments(size / 20000, 20000); });
        start(size, &memory_only, waiting_bytes);
        for (auto end = std::chrono::steady_clock::now() + 5s;
             reads_done == 0 && std::chrono::steady_clock::now() < end;) {
            io.restart();
            io.run_for(5ms);
        }
        app.join();
        EXPECT_EQ(reads_done, 1) << "the relay waited for the client before reading the whole body";
        return run_reading_client(5s);
    }

    const body_store::limits memory_only{.memory = 4 * size, .max_size = 4 * size};
    std::size_t filler = 0;
};

TEST_F(splice_relay_backlog_test, a_stalled_client_does_not_hold_the_server)
{
    const auto got = relay_to_a_stalled_client("", true);
    ASSERT_TRUE(result) << "the relay did not end; " << got.size() << " bytes arrived";
    EXPECT_EQ(result->failed, relay_result::failure::none) << result->ec.message();
    EXPECT_EQ(result->bytes_read, size);
    EXPECT_EQ(result->bytes_written, size);
    EXPECT_EQ(reads_done, 1);
    ASSERT_EQ(got.size(), filler + size);
    for (std::size_t i = 0; i < size; ++i) ASSERT_EQ(got[filler + i], body_byte(i)) << "byte " << i;
}

// Bytes already in the backlog (the head and what came with it) go before any of the pipe's,
// even to a client whose socket would take the pipe's bytes at once.
TEST_F(splice_relay_backlog_test, what_waits_in_the_backlog_goes_first)
{
    const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 2000000\r\n\r\n";
    const auto got = relay_to_a_stalled_client(head, false);
    ASSERT_TRUE(result) << "the relay did not end; " << got.size() << " bytes arrived";
    EXPECT_EQ(result->failed, relay_result::failure::none) << result->ec.message();
    EXPECT_EQ(result->bytes_read, size);
    ASSERT_EQ(got.size(), filler + head.size() + size);
    EXPECT_EQ(got.substr(filler, head.size()), head);
    for (std::size_t i = 0; i < size; ++i)
        ASSERT_EQ(got[filler + head.size() + i], body_byte(i)) << "byte " << i;
}

// What the backlog holds goes to a client that reads again while the server is silent, not at
// the server's next bytes; and the body still arrives whole once the server goes on.
TEST_F(splice_relay_backlog_test, the_backlog_goes_out_while_the_server_pauses)
{
    connect_server();
    filler = block_client();
    client.non_blocking(true);
    server.non_blocking(true);  // as the proxy's server sockets are: what has arrived is read first
    constexpr std::size_t first = 1'000'000, tail = 1000;
    std::string body(first + tail, '\0');
    for (std::size_t i = 0; i < body.size(); ++i) body[i] = body_byte(i);
    std::atomic<bool> go_on{false};
    std::thread app([&] {
        ASSERT_EQ(::send(server_peer, body.data(), first, MSG_NOSIGNAL), ssize_t(first));
        while (!go_on) std::this_thread::sleep_for(1ms);
        ::send(server_peer, body.data() + first, tail, MSG_NOSIGNAL);
    });
    start(body.size(), &memory_only);
    for (auto end = std::chrono::steady_clock::now() + 300ms;
         std::chrono::steady_clock::now() < end;) {
        io.restart();
        io.run_for(5ms);
    }
    auto got = run_reading_client(3s, filler + first);
    EXPECT_EQ(got.size(), filler + first) << "what the backlog held waited for the server";
    go_on = true;
    got += run_reading_client(3s);
    app.join();
    ASSERT_TRUE(result) << "the relay did not end";
    EXPECT_EQ(result->failed, relay_result::failure::none) << result->ec.message();
    ASSERT_EQ(got.size(), filler + body.size());
    EXPECT_TRUE(got.substr(filler) == body) << "the client got other bytes than the server's";
}

TEST_F(splice_relay_test, a_server_that_closes_early_fails_the_read)
{
    connect_server();
    send_segments(4, 1000);
    ::shutdown(server_peer, SHUT_WR);
    start(10000);
    const auto got = run_reading_client(3s);
    ASSERT_TRUE(result);
    EXPECT_EQ(result->failed, relay_result::failure::read);
    EXPECT_EQ(got.size(), 4000u);
    EXPECT_EQ(result->bytes_read, 4000u);
}

// The relay waits for a pipe-full at a time (a mark on the server's socket), but a server slower
// than that still has its bytes relayed within moments, not at the server timeout (10 s here),
// and the mark goes for the rest of the body; it is gone from the socket once the body is, so
// the connection's next response head wakes its reader.
TEST_F(splice_relay_test, a_slow_server_is_relayed_as_it_sends_and_the_mark_is_lowered_after)
{
    connect_server();
    constexpr std::size_t first = 100'000, size = 300'000;
    std::string body(size, '\0');
    for (std::size_t i = 0; i < size; ++i) body[i] = body_byte(i);
    start(size);
    io.poll();  // up to the relay's first wait; its patience runs only while the loop does
    ASSERT_GT(receive_mark(server.native_handle()), int(first)) << "the first bytes meet the mark";
    ASSERT_EQ(::send(server_peer, body.data(), first, MSG_NOSIGNAL), ssize_t(first));
    auto got = run_reading_client(3s, first);
    ASSERT_EQ(got.size(), first) << "the first bytes waited for the rest of the body";
    EXPECT_EQ(receive_mark(server.native_handle()), 1) << "the mark outlived a slow server";
    ASSERT_EQ(::send(server_peer, body.data() + first, size - first, MSG_NOSIGNAL),
              ssize_t(size - first));
    got += run_reading_client(5s);
    ASSERT_TRUE(result) << "the relay did not end; " << got.size() << " bytes arrived";
    EXPECT_EQ(result->failed, relay_result::failure::none) << result->ec.message();
    EXPECT_EQ(got, body);
    EXPECT_EQ(receive_mark(server.native_handle()), 1);
    // The connection remembers: its next body is relayed as it comes, without a mark.
    EXPECT_TRUE(server_slow);
    result.reset();
    start(size);
    io.poll();
    EXPECT_EQ(receive_mark(server.native_handle()), 1) << "the next body waits for a pipe-full";
    ASSERT_EQ(::send(server_peer, body.data(), size, MSG_NOSIGNAL), ssize_t(size));
    EXPECT_EQ(run_reading_client(5s), body);
    ASSERT_TRUE(result);
    EXPECT_EQ(result->failed, relay_result::failure::none) << result->ec.message();
}

// A body whose rest arrives whole while the relay waits for it meets the mark; the socket is back
// to reporting every byte once the relay ends.
TEST_F(splice_relay_test, a_body_that_meets_the_mark_leaves_none_behind)
{
    connect_server();
    constexpr std::size_t first = 50'000, size = 100'000;
    std::string body(size, '\0');
    for (std::size_t i = 0; i < size; ++i) body[i] = body_byte(i);
    ASSERT_EQ(::send(server_peer, body.data(), first, MSG_NOSIGNAL), ssize_t(first));
    start(size);
    io.poll();  // up to the relay's first wait for the server, well within its patience
    EXPECT_GT(receive_mark(server.native_handle()), 1) << "the relay waits for every byte";
    ASSERT_EQ(::send(server_peer, body.data() + first, size - first, MSG_NOSIGNAL),
              ssize_t(size - first));
    const auto got = run_reading_client(5s);
    ASSERT_TRUE(result) << "the relay did not end; " << got.size() << " bytes arrived";
    EXPECT_EQ(got, body);
    EXPECT_EQ(receive_mark(server.native_handle()), 1);
}

}  // namespace
}  // namespace sluice::proxy
