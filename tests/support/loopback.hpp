#pragma once
// A listening TCP socket on 127.0.0.1 at a free port, for tests that script a peer by hand.
// Header-only and plain POSIX, so that the unit_io tests can use it without the support library.

#include <gtest/gtest.h>

#include <cstdint>

#include <netinet/in.h>
#include <sys/socket.h>

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

}  // namespace sluice::test
