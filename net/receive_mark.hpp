#pragma once
// A low-water mark on a TCP socket's receive side (SO_RCVLOWAT): epoll reports the socket
// readable only once that many bytes, or its end, have arrived. A relay that takes a fast
// server's body a pipe-full per wake-up, instead of the one or two segments each send brings,
// wakes less and preempts the sender less when the two share a core (bench/RESULTS.md, session
// 14). Raised only for a relay's own waits, and back to 1 before anything else reads the socket:
// a pooled connection's next response head must wake its reader at its first byte.

#include "net/io_types.hpp"

namespace sluice::net {

class receive_mark {
public:
    // The socket, not its descriptor: one closed while its relay was suspended (a stop closes
    // every connection) is left alone, rather than a number that may name another socket now.
    explicit receive_mark(socket_type& socket) : socket_(&socket) {}
    receive_mark(const receive_mark&) = delete;
    receive_mark& operator=(const receive_mark&) = delete;
    ~receive_mark() { release(); }

    // Sets the mark to `bytes` (at least 1); a system call only when it changes. The kernel caps
    // it at half the socket's largest receive buffer and grows the buffer to hold it.
    void set(int bytes);

    // Sets the mark back to 1 and lets go of the socket, which may then be pooled (or closed)
    // while the relay goes on writing: nothing here touches it again.
    void release()
    {
        set(1);
        socket_ = nullptr;
    }

private:
    socket_type* socket_;
    int current_ = 1;
};

}  // namespace sluice::net
