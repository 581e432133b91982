#pragma once
// Pipes for splice(2): a body that passes from one plain TCP socket to another moves through a
// pipe inside the kernel, as references to the pages it arrived in, instead of being copied into
// the proxy and out again. For a 1 MiB response that is two megabytes of copying less, and most
// of the proxy's CPU for it (bench/RESULTS.md has the figures).
//
// Every call is one non-blocking attempt (SPLICE_F_NONBLOCK, and the sockets are non-blocking):
// waiting for a socket stays the reactor's (proxy/session/splice_relay.hpp). A pipe serves one
// relay at a time, since bytes in it belong to that relay until they leave; the pool keeps
// emptied pipes for the next relay, and closes any that still hold bytes.

#include <boost/system/error_code.hpp>

#include <cstddef>
#include <string>
#include <vector>

namespace sluice::net {

class splice_pipe {
public:
    splice_pipe() = default;
    splice_pipe(int read_end, int write_end, std::size_t capacity);
    splice_pipe(splice_pipe&& other) noexcept;
    splice_pipe& operator=(splice_pipe&& other) noexcept;
    ~splice_pipe();

    bool valid() const { return write_end_ >= 0; }
    std::size_t capacity() const { return capacity_; }
    std::size_t held() const { return held_; }  // bytes moved in and not yet out

    // Moves up to `max` bytes that have arrived on socket `from` into the pipe, without waiting:
    // the bytes moved, 0 with ec clear when the peer has shut down its side, or would_block.
    std::size_t fill(int from, std::size_t max, boost::system::error_code& ec);
    // Moves up to `max` of the bytes held to socket `to`, as much as it takes now: an error, or
    // would_block when the socket takes nothing. Without SPLICE_F_MORE: a server that pauses
    // mid-body must not leave its last bytes corked in the client's socket.
    std::size_t drain(int to, std::size_t max, boost::system::error_code& ec);
    // Copies up to `max` of the bytes held into `into` and out of the pipe: for a relay that stops
    // splicing half-way (a slow client under response buffering) and keeps the rest in memory.
    std::size_t copy_out(char* into, std::size_t max, boost::system::error_code& ec);

private:
    void close();
    int read_end_ = -1;
    int write_end_ = -1;
    std::size_t capacity_ = 0;
    std::size_t held_ = 0;
};

// One worker's pipes: one per relay under way, kept between relays.
class pipe_pool {
public:
    // With `wanted` false, or when the kernel refuses a pipe or a splice, on() is false and
    // why_off() says why.
    explicit pipe_pool(bool wanted);

    bool on() const { return why_off_.empty(); }
    const std::string& why_off() const { return why_off_; }

    // An empty pipe, or an invalid one when none can be made (out of descriptors).
    splice_pipe take();
    // Keeps `p` for the next relay if it is empty (and a few are not already kept).
    void give_back(splice_pipe p);

private:
    std::vector<splice_pipe> spare_;
    std::string why_off_;
};

}  // namespace sluice::net
