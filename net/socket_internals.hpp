#pragma once
// Internal to net/: the reactor's state behind a socket_type, which Asio keeps protected. Only
// for Boost 1.81's reactive (epoll) sockets: SLUICE_REACTIVE_SOCKETS says whether they are the
// ones in use, and the files that include this header fall back to plain Asio otherwise.

#include "net/io_types.hpp"

#include <boost/asio/basic_stream_socket.hpp>
#include <boost/version.hpp>

#if BOOST_VERSION == 108100 && defined(BOOST_ASIO_HAS_EPOLL) && \
    !defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT)
#define SLUICE_REACTIVE_SOCKETS 1

namespace sluice::net::internals {

// A protected member, reached from a derived class, as the language allows.
struct socket_access : socket_type {
    static auto& implementation(socket_type& s)
    {
        return (s.*&socket_access::impl_).get_implementation();
    }
};

}  // namespace sluice::net::internals

#endif
