#pragma once
// The TCP socket under a TLS stream (asio::ssl::stream<tls_transport>, which makes the relay's
// handshakes), whose reads cost no failed recv(2), as net/read_readiness.hpp explains for the
// plain path. Asio's TLS stream reads its socket whenever OpenSSL wants a record, such as right
// after sending its flight, before the peer can have answered: a recv that returned EAGAIN. Here
// a read that returned less than it asked for proves the socket empty, and the next read waits
// for epoll instead. A TLS record cut in two is the same case: the rest comes with an event.

#include "net/io_types.hpp"
#include "net/read_readiness.hpp"

#include <boost/asio/associator.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>

#include <cstddef>
#include <utility>

namespace sluice::net {

namespace detail {

// Completes a read that waited for epoll; the reactor made it in this turn of the event loop,
// so note_message_end may still trust it.
template <class Handler>
struct note_short_read {
    socket_type* socket;
    std::size_t asked;
    Handler handler;

    void operator()(boost::system::error_code ec, std::size_t n)
    {
        if (!ec) note_message_end(*socket, n < asked);
        std::move(handler)(ec, n);
    }
};

}  // namespace detail

class tls_transport {
public:
    using executor_type = socket_type::executor_type;
    using lowest_layer_type = socket_type::lowest_layer_type;

    explicit tls_transport(socket_type s) : socket_(std::move(s)) {}

    socket_type& socket() { return socket_; }
    executor_type get_executor() { return socket_.get_executor(); }
    lowest_layer_type& lowest_layer() { return socket_.lowest_layer(); }
    const lowest_layer_type& lowest_layer() const { return socket_.lowest_layer(); }

    // The TLS stream reads into one buffer: its record buffer (empty to post a completion).
    template <class Token>
    auto async_read_some(boost::asio::mutable_buffer into, Token&& token)
    {
        return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
            [this](auto handler, boost::asio::mutable_buffer into) {
                start_read(std::move(handler), into);
            },
            token, into);
    }

    template <class Buffers, class Token>
    auto async_write_some(const Buffers& from, Token&& token)
    {
        return socket_.async_write_some(from, std::forward<Token>(token));
    }

private:
    template <class Handler>
    void start_read(Handler handler, boost::asio::mutable_buffer into)
    {
        if (into.size() == 0) {  // no recv: the stream only wants its handler posted
            socket_.async_read_some(into, std::move(handler));
            return;
        }
        boost::system::error_code ec;
        const auto n = read_arrived(socket_, into, ec);
        if (ec != boost::asio::error::would_block) {
            if (!ec) note_message_end(socket_, n < into.size());
            const auto ex = boost::asio::get_associated_executor(handler, get_executor());
            boost::asio::post(ex,
                              [h = std::move(handler), ec, n]() mutable { std::move(h)(ec, n); });
            return;
        }
        socket_.async_read_some(into, detail::note_short_read<Handler>{&socket_, into.size(),
                                                                       std::move(handler)});
    }

    socket_type socket_;
};

}  // namespace sluice::net

// The wrapped handler keeps the executor, allocator and cancellation slot of the original.
template <template <typename, typename> class Associator, class Handler, class Default>
struct boost::asio::associator<Associator, sluice::net::detail::note_short_read<Handler>, Default>
    : Associator<Handler, Default> {
    static typename Associator<Handler, Default>::type get(
        const sluice::net::detail::note_short_read<Handler>& h) noexcept
    {
        return Associator<Handler, Default>::get(h.handler);
    }
    static auto get(const sluice::net::detail::note_short_read<Handler>& h,
                    const Default& d) noexcept
    {
        return Associator<Handler, Default>::get(h.handler, d);
    }
};
