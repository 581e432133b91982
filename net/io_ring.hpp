#pragma once
// Reads and sends batched through io_uring: every recv and send a turn of the event loop makes
// leaves in one io_uring_enter(2) at the end of that turn, instead of one system call each.
//
// Why: on a virtual machine whose kernel isolates its page tables (PTI without PCID, or a
// paravirtual guest), a system call costs a microsecond or more before it does any work; a
// keep-alive request costs the proxy four of them (two reads, two sends), and a busy turn of
// the loop serves several requests. bench/RESULTS.md has the figures.
//
// Each operation is one non-blocking attempt (MSG_DONTWAIT): it takes what the socket has or
// takes at that moment, exactly as recv(2) or send(2) would, and never waits inside the kernel
// (the constructor asks the kernel, and turns the ring off if it would). So no operation outlives
// its turn, a timeout has nothing of the ring's to cancel, and waiting for a socket stays the
// reactor's (proxy/session/ring_read.hpp). The ring is optional: off by configuration, or when
// the kernel refuses one (too old, or a container's seccomp profile), every caller makes its
// own system calls.

#include "net/io_types.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/system/error_code.hpp>

#include <cstddef>
#include <memory>
#include <string>
#include <tuple>

namespace sluice::net {

class io_ring {
public:
    // With `wanted` false, or when the kernel refuses, on() is false and why_off() says why.
    io_ring(boost::asio::io_context& io, bool wanted);
    ~io_ring();
    io_ring(const io_ring&) = delete;
    io_ring& operator=(const io_ring&) = delete;

    bool on() const { return ring_ != nullptr; }
    const std::string& why_off() const { return why_off_; }

    // Sends what `fd` takes of `data` (which must outlive the wait) at the end of this turn of
    // the event loop: the bytes sent, or an error (would_block when it took nothing). Only while
    // on(); `fd` stays open until the wait ends.
    awaitable<std::tuple<boost::system::error_code, std::size_t>> send(
        int fd, boost::asio::const_buffer data);

    // Receives what has arrived on `fd` into `into` at the end of this turn, without waiting for
    // more: the bytes read (0: the peer has shut down its side), or would_block when none had.
    awaitable<std::tuple<boost::system::error_code, std::size_t>> recv(
        int fd, boost::asio::mutable_buffer into);

    // Submits every operation made so far and completes each, until none is left: at the end of
    // a turn (posted by the first operation), and before a worker closes its sockets at exit.
    void flush();

    struct ring;  // liburing's state and the operations in flight, kept out of this header

private:
    std::unique_ptr<ring> ring_;
    std::string why_off_;
};

}  // namespace sluice::net
