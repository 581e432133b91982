#pragma once
// A listening TCP socket on 127.0.0.1 at a free port, for tests that script a peer by hand.
// Header-only and plain POSIX, so that the unit_io tests can use it without the support library.

#include <gtest/gtest.h>

#include <cstdint>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace sluice::test {

// The listening socket (-1 on failure, with a test failure recorded); `port` gets its port.
inline int listen_loopback(std::uint16_t& port)
{
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), len), 0);
    EXPECT_EQ(::listen(fd, 4), 0);
    EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
    port = ntohs(a.sin_port);
    return fd;
}

// A TCP socket connected to 127.0.0.1:port (-1 on failure, with a test failure recorded). With
// `receive_buffer` > 0 the buffer is set before the handshake, so the window offered stays that
// small: shrinking it on a connected socket leaves a sender with a window below its segment size
// waiting on its persist timer, for seconds.
inline int connect_loopback(std::uint16_t port, int receive_buffer = 0)
{
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (receive_buffer > 0) {
        EXPECT_EQ(::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer),
                  0);
    }
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ADD_FAILURE() << "cannot connect to 127.0.0.1:" << port;
        ::close(fd);
        return -1;
    }
    return fd;
}

}  // namespace sluice::test
