#pragma once
// One coroutine per client connection: read a request head, forward it, relay the response,
// repeat while keep-alive holds. Runs entirely on the worker that owns the socket.

#include "proxy/runtime/deadline_sweeper.hpp"

#include <memory>
#include <string>

namespace sluice::proxy {

class worker;

// What a client connection belongs to: the listener, which counts open connections and whose
// name finds the listener's current config for each request (a reload may reorder them).
class connection_owner {
public:
    virtual ~connection_owner() = default;
    virtual const std::string& name() const = 0;
    virtual void on_closed() = 0;
};

void start_client_session(worker& w, socket_type socket, std::shared_ptr<connection_owner> owner);

}  // namespace sluice::proxy
