#include "net/accepted_socket.hpp"

#include "net/socket_internals.hpp"

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

}  // namespace sluice::net
