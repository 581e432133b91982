#pragma once
// A connection's stream as the session's reads and writes see it, a client's or a server's: its
// socket, plain or carrying TLS (net/tls_channel.hpp). Which one is settled once per connection;
// each call checks a pointer, with no virtual call and no second code path for the plain
// socket's bytes.
// Heavy (Asio's awaitable operations): for the session's .cpp files.

#include "net/read_readiness.hpp"
#include "net/tls_channel.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <tuple>

namespace sluice::net {

class stream_ref {
public:
    // Implicit: a plain socket is a stream.
    stream_ref(socket_type& s, tls_channel* tls = nullptr) : socket(s), tls(tls) {}

    socket_type& socket;
    tls_channel* tls;
};

using io_result = std::tuple<boost::system::error_code, std::size_t>;

// What has arrived, without waiting (ec would_block: use read_some).
inline std::size_t read_arrived(stream_ref s, boost::asio::mutable_buffer into,
                                boost::system::error_code& ec)
{
    if (s.tls) return s.tls->read_arrived(s.socket, into, ec);
    return read_arrived(s.socket, into, ec);
}

// Not a coroutine: the caller awaits the socket's own operation on the plain path.
inline awaitable<io_result> read_some(stream_ref s, boost::asio::mutable_buffer into)
{
    if (s.tls) return s.tls->read_some(s.socket, into);
    return s.socket.async_read_some(into, boost::asio::as_tuple(
                                              boost::asio::use_awaitable_t<executor_type>{}));
}

// What the socket takes now, without a suspension (ec would_block: nothing).
template <class Buffers>
std::size_t write_now(stream_ref s, const Buffers& data, boost::system::error_code& ec)
{
    if (s.tls) return s.tls->write_now(s.socket, data, ec);
    return s.socket.write_some(data, ec);
}

// Nothing written waits to be sent: always so on a plain socket.
inline bool settled(stream_ref s) { return !s.tls || s.tls->settled(); }

namespace detail {

template <class Buffers>
awaitable<io_result> write_tls(stream_ref s, const Buffers& data)
{
    boost::system::error_code ec;
    const auto n = s.tls->write_now(s.socket, data, ec);
    if (ec && ec != boost::asio::error::would_block) co_return io_result{ec, n};
    if (n < boost::asio::buffer_size(data)) {
        // Earlier records were waiting: send them, then these.
        if ((ec = co_await s.tls->settle(s.socket))) co_return io_result{ec, 0};
        s.tls->write_now(s.socket, data, ec);
        if (ec && ec != boost::asio::error::would_block) co_return io_result{ec, 0};
    }
    ec = co_await s.tls->settle(s.socket);
    co_return io_result{ec, ec ? 0 : boost::asio::buffer_size(data)};
}

}  // namespace detail

// Writes all of `data` (which must outlive the wait) and what waited before it.
template <class Buffers>
awaitable<io_result> write_all(stream_ref s, const Buffers& data)
{
    if (s.tls) return detail::write_tls(s, data);
    return boost::asio::async_write(
        s.socket, data, boost::asio::as_tuple(boost::asio::use_awaitable_t<executor_type>{}));
}

}  // namespace sluice::net
