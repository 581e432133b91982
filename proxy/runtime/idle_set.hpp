#pragma once
// Where a worker's idle keep-alive client connections wait for their next request: an epoll set
// of the worker's own, watched by one descriptor in Asio's reactor. A socket set aside here is
// released from Asio, so it holds no reactor state (168 bytes) and no pending wait (88): an idle
// client costs its connection object and nothing more (about 60 % of NGINX's cost per idle
// client, bench/RESULTS.md). Moving a connection in and out costs three epoll_ctl, paid only by
// one that has served a request and gone quiet: a new one waits in the reactor for its first
// request, and one in steady use waits hot, in its coroutine (client_session.cpp).
//
// Each socket is watched once (EPOLLONESHOT): readable, hung up, or shut for reading by
// deadline::end_wait, which is how a timeout or a drain reaches a connection waiting here.
// Not thread-safe: used only on its worker's thread.

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

namespace sluice::proxy {

class idle_set {
public:
    // Called once per add(), on the worker's thread, with the entry add() was given; the socket
    // is the entry's again.
    using wake_fn = void (*)(void* entry);

    idle_set(boost::asio::io_context& io, wake_fn wake);
    ~idle_set();
    idle_set(const idle_set&) = delete;
    idle_set& operator=(const idle_set&) = delete;

    // Watches `fd` (a socket no longer in Asio's reactor) until it has something to read.
    // `again`: the socket was added before. A socket stays in the set, disarmed, after its wake,
    // so adding it again is a re-arm, not an insertion: an insertion into a set that is itself
    // watched by epoll takes the kernel's global lock for nested sets. False when the kernel
    // refuses (no memory): the fd stays the caller's, who waits another way.
    bool add(int fd, void* entry, bool again);

private:
    void wait();
    void wake_ready();

    int set_;
    boost::asio::posix::basic_stream_descriptor<boost::asio::io_context::executor_type> watch_;
    wake_fn wake_;
};

}  // namespace sluice::proxy
