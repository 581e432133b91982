#include "proxy/session/client_wait.hpp"

#include "proxy/session/ring_read.hpp"
#include "proxy/session/session.hpp"

#include "net/accepted_socket.hpp"
#include "net/read_readiness.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <algorithm>
#include <utility>

#include <sys/socket.h>
#include <unistd.h>

namespace sluice::proxy {

namespace {

// Gives the socket its descriptor back, as accepted: non-blocking, shared with nobody.
bool take_back(client_connection& c, int fd)
{
    error_code ec;
    c.socket.assign(c.owner->socket_protocol(), fd, ec);
    if (ec) {
        ::close(fd);
        return false;
    }
    net::adopt_accepted(c.socket);
    return true;
}

// Moves the socket into the worker's idle_set, which then owns the connection until
// resume_idle_client. False when the connection must wait in Asio's reactor instead.
bool set_aside(std::unique_ptr<client_connection>& c)
{
    error_code ec;
    const int fd = c->socket.release(ec);
    if (ec) return false;
    if (!c->w.idle.add(fd, c.get(), c->deadline.was_aside())) {
        take_back(*c, fd);
        return false;
    }
    c->deadline.set_aside(fd);
    c.release();
    return true;
}

// Between requests a connection holds no coroutine and no buffer, only its socket and the
// handler of its wait; the first byte of the next request starts a coroutine again. False: a
// drain is under way, and the connection closes instead.
bool begin_waiting(client_connection& c, clock::duration idle)
{
    if (c.w.draining) return false;
    c.buffer.shrink_to_fit();
    if (auto* tls = client_stream(c).tls) tls->release_idle();
    c.deadline.arm(idle);
    c.deadline.park();
    return true;
}

void wait_in_reactor(std::unique_ptr<client_connection> c)
{
    auto& socket = c->socket;
    socket.async_wait(socket_type::wait_read, [c = std::move(c)](error_code ec) mutable {
        c->deadline.unpark();
        c->deadline.disarm();
        if (ec || c->w.draining) return;
        auto& io = c->w.io;
        asio::co_spawn(io, serve(std::move(c)), asio::detached);
    });
}

}  // namespace

void wait_idle(std::unique_ptr<client_connection> c, clock::duration idle)
{
    if (begin_waiting(*c, idle)) wait_in_reactor(std::move(c));
}

void wait_quiet(std::unique_ptr<client_connection> c, clock::duration idle)
{
    if (begin_waiting(*c, idle) && !set_aside(c)) wait_in_reactor(std::move(c));
}

awaitable<hot_wait> wait_hot(client_connection& c, clock::duration idle)
{
    net::watch_peer_shutdown(c.socket);
    const auto hot = std::min(idle, hot_period);
    c.deadline.arm(hot);
    c.deadline.park();
    auto space = c.buffer.prepare(std::max<std::size_t>(4096, c.buffer.capacity()));
    // Just after a response the client has rarely sent more yet: usually no recv until it has.
    auto [ec, n] = co_await read_stream(c.w.ring, client_stream(c), c.deadline, space);
    c.emptied = n < space.size();
    c.deadline.unpark();
    c.deadline.disarm();
    c.buffer.commit(n);
    if (!ec) co_return hot_wait::data;
    const bool quiet = c.deadline.expired() && hot < idle && !c.w.draining;
    co_return quiet ? hot_wait::quiet : hot_wait::closed;
}

// Declared in client_session.hpp: the worker's idle_set calls it.
void resume_idle_client(void* connection)
{
    std::unique_ptr<client_connection> c{static_cast<client_connection*>(connection)};
    const int fd = c->deadline.take_back();
    // Woken by end_wait (a timeout, a drain, the exit) or by the client: its bytes, or its FIN.
    const bool ended = c->deadline.expired() || c->w.draining;
    c->deadline.unpark();
    c->deadline.disarm();
    if (ended && !c->origin) {  // closed as the destructor would, without Asio's epoll_ctl
        ::shutdown(fd, SHUT_WR);
        ::close(fd);
        return;
    }
    if (!take_back(*c, fd) || ended) return;  // TLS sends its close_notify through the socket
    auto& io = c->w.io;
    asio::co_spawn(io, serve(std::move(c)), asio::detached);
}

}  // namespace sluice::proxy
