#pragma once
// systemd's notify protocol (Type=notify), spoken over the plain socket so that sluice needs no
// libsystemd: one datagram to $NOTIFY_SOCKET. Does nothing when not started by systemd.

#include <string_view>

namespace sluice::proxy {

void notify_systemd(std::string_view state);  // "READY=1", "RELOADING=1", "STOPPING=1"

}  // namespace sluice::proxy
