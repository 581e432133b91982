#pragma once
// Two connected non-blocking unix sockets: `ours`, the one a test hands to the code under test,
// and the `peer` it talks to. Either may be closed early (set it to -1).

#include <gtest/gtest.h>

#include <string>

#include <sys/socket.h>
#include <unistd.h>

namespace sluice::testing {

struct socket_pair {
    int ours = -1;
    int peer = -1;
    socket_pair()
    {
        int fds[2];
        EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
        ours = fds[0];
        peer = fds[1];
    }
    ~socket_pair()
    {
        if (ours >= 0) ::close(ours);
        if (peer >= 0) ::close(peer);
    }
    socket_pair(const socket_pair&) = delete;
    socket_pair& operator=(const socket_pair&) = delete;

    // Everything `ours` has sent so far.
    std::string drain() const
    {
        std::string got;
        char buf[65536];
        for (ssize_t n; (n = ::read(peer, buf, sizeof buf)) > 0;) got.append(buf, std::size_t(n));
        return got;
    }
};

}  // namespace sluice::testing
