#pragma once
// The I/O vocabulary every event-loop file speaks: the socket type, coroutines on the event
// loop's executor, the clock and its cheap coarse reading. Heavy headers stay out: Asio's
// awaitable, generic stream protocol and io_context only.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>

#include <time.h>

namespace sluice::net {

// Typed on the io_context executor rather than any_io_executor: smaller per connection.
using socket_type = boost::asio::basic_stream_socket<boost::asio::generic::stream_protocol,
                                                     boost::asio::io_context::executor_type>;
using clock = std::chrono::steady_clock;
// Coroutines are typed on the io_context's executor too: no type-erased executor to copy and
// call through at every suspension.
using executor_type = boost::asio::io_context::executor_type;
template <class T>
using awaitable = boost::asio::awaitable<T, executor_type>;

// The steady clock read at the kernel's tick (1-10 ms) instead of to the nanosecond: several times
// cheaper (a request reads the clock a dozen times), and as good for deadlines swept every tick
// and for idle ages. Linux's CLOCK_MONOTONIC_COARSE shares the origin of CLOCK_MONOTONIC, which
// steady_clock reads, so the two compare. Durations that are reported use clock::now().
inline clock::time_point coarse_now() noexcept
{
    timespec ts;
    ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return clock::time_point(std::chrono::seconds(ts.tv_sec) +
                             std::chrono::nanoseconds(ts.tv_nsec));
}

}  // namespace sluice::net

namespace sluice::proxy {

// The proxy's code names them unqualified.
using net::awaitable;
using net::clock;
using net::coarse_now;
using net::executor_type;
using net::socket_type;

}  // namespace sluice::proxy
