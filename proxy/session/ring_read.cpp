#include "proxy/session/ring_read.hpp"

#include "net/read_readiness.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace sluice::proxy {

namespace asio = boost::asio;
using boost::system::error_code;

awaitable<std::tuple<error_code, std::size_t>> read_in_turn(net::io_ring& ring, socket_type& s,
                                                            const deadline& d,
                                                            asio::mutable_buffer into)
{
    if (!ring.on()) {
        // Without a recv when the reactor knows the socket is empty (net/read_readiness.hpp).
        error_code ec;
        const auto n = net::read_arrived(s, into, ec);
        if (ec != asio::error::would_block) co_return std::tuple{ec, n};
        co_return co_await s.async_read_some(into, asio::as_tuple(
                                                       asio::use_awaitable_t<executor_type>{}));
    }
    for (bool wait = !net::may_have_bytes(s);; wait = true) {
        // A deadline that passed while the recv waited for its flush cancelled nothing: the
        // reactor had no operation of this socket's then.
        if (d.expired()) co_return std::tuple{error_code(asio::error::operation_aborted), 0};
        if (wait) {
            auto [ec] = co_await net::wait_readable(s);
            if (ec) co_return std::tuple{ec, 0};
        }
        auto [ec, n] = co_await ring.recv(s.native_handle(), into);
        if (ec == asio::error::would_block) {
            net::saw_empty(s);
            continue;
        }
        if (!ec && n == 0 && into.size() > 0) ec = asio::error::eof;
        co_return std::tuple{ec, n};
    }
}

}  // namespace sluice::proxy
