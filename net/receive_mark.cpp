#include "net/receive_mark.hpp"

#include <sys/socket.h>

#include <algorithm>

namespace sluice::net {

void receive_mark::set(int bytes)
{
    bytes = std::max(bytes, 1);
    if (bytes == current_ || !socket_ || !socket_->is_open()) return;
    // A socket that refuses it keeps reporting every byte, as before: nothing to handle.
    if (::setsockopt(socket_->native_handle(), SOL_SOCKET, SO_RCVLOWAT, &bytes, sizeof bytes) == 0)
        current_ = bytes;
}

}  // namespace sluice::net
