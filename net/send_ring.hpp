#pragma once
// Sends batched through io_uring: every send a turn of the event loop makes leaves in one
// io_uring_enter(2) at the end of that turn, instead of one send(2) each.
//
// Why: on a virtual machine whose kernel isolates its page tables (PTI without PCID, or a
// paravirtual guest), a system call costs a microsecond or more before it does any work; a
// keep-alive request costs the proxy four of them (two reads, two sends), and with 50 busy
// connections a turn of the loop makes a dozen sends. bench/RESULTS.md has the figures.
//
// Each send is one non-blocking attempt (MSG_DONTWAIT): it takes what the socket takes at that
// moment, exactly as send(2) would, and never waits inside the kernel. So no operation outlives
// its turn, a timeout has nothing of the ring's to cancel, and what the socket did not take is
// the caller's to write the usual way. The ring is optional: off by configuration, or when the
// kernel refuses one (too old, or a container's seccomp profile), every caller writes directly.

#include "net/io_types.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/system/error_code.hpp>

#include <cstddef>
#include <memory>
#include <string>
#include <tuple>

namespace sluice::net {

class send_ring {
public:
    // With `wanted` false, or when the kernel refuses, on() is false and why_off() says why.
    send_ring(boost::asio::io_context& io, bool wanted);
    ~send_ring();
    send_ring(const send_ring&) = delete;
    send_ring& operator=(const send_ring&) = delete;

    bool on() const { return ring_ != nullptr; }
    const std::string& why_off() const { return why_off_; }

    // Sends what `fd` takes of `data` (which must outlive the wait) at the end of this turn of
    // the event loop: the bytes sent, or an error (would_block when it took nothing). Only while
    // on(); `fd` stays open until the wait ends.
    awaitable<std::tuple<boost::system::error_code, std::size_t>> send(
        int fd, boost::asio::const_buffer data);

    // Submits every send made so far and completes each, until none is left: at the end of a
    // turn (posted by the first send), and before a worker closes its sockets at exit.
    void flush();

    struct ring;  // liburing's state and the sends in flight, kept out of this header

private:
    std::unique_ptr<ring> ring_;
    std::string why_off_;
};

}  // namespace sluice::net
