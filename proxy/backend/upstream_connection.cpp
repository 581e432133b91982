#include "proxy/backend/upstream_connection.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <sys/socket.h>

namespace sluice::proxy {

namespace asio = boost::asio;

upstream_connection::upstream_connection(asio::io_context& io, deadline_sweeper& sweeper)
    : socket(io), deadline(sweeper, socket)
{
}

awaitable<boost::system::error_code> upstream_connection::connect(
    const asio::generic::stream_protocol::endpoint& to, clock::duration timeout)
{
    deadline.arm(timeout);
    auto [ec] = co_await socket.async_connect(to, asio::as_tuple(
                                                      asio::use_awaitable_t<executor_type>{}));
    deadline.disarm();
    if (ec && deadline.expired()) ec = asio::error::timed_out;
    if (!ec) socket.non_blocking(true, ec);  // the relay's write_now must never block the thread
    if (!ec && to.protocol().family() != AF_UNIX) {
        boost::system::error_code ignored;
        socket.set_option(asio::ip::tcp::no_delay(true), ignored);
    }
    co_return ec;
}

bool upstream_connection::is_stale() const
{
    char byte;
    auto self = const_cast<socket_type&>(socket).native_handle();
    ssize_t n = ::recv(self, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0) return errno != EAGAIN && errno != EWOULDBLOCK;
    return true;  // 0: closed by the server; > 0: bytes nobody asked for
}

}  // namespace sluice::proxy
