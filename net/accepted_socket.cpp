#include "net/accepted_socket.hpp"

#include "net/socket_internals.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

namespace sluice::net {

void adopt_accepted(socket_type& s)
{
#ifdef SLUICE_REACTIVE_SOCKETS
    namespace ops = boost::asio::detail::socket_ops;
    auto& state = internals::socket_access::implementation(s).state_;
    state = static_cast<ops::state_type>((state | ops::non_blocking) & ~ops::possible_dup);
#else
    boost::system::error_code ignored;
    s.non_blocking(true, ignored);
#endif
}

void acknowledge_now(socket_type& s)
{
    // TCP_QUICKACK acknowledges what is pending and leaves delayed-ACK mode until the next reply.
    const int one = 1;
    ::setsockopt(s.native_handle(), IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
}

}  // namespace sluice::net
