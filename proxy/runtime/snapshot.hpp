#pragma once
// An immutable view of one loaded configuration: what every request is routed and served by.
// A reload builds a new snapshot and swaps it in; requests that started on the old one keep it
// alive through their shared_ptr. The live state of a backend (slots, queue, pools) is a
// backend_runtime that consecutive snapshots share by backend name.

#include "config/model.hpp"
#include "proxy/backend/backend_runtime.hpp"
#include "proxy/backend/router.hpp"

#include <memory>
#include <vector>

namespace sluice::net {
class tls_server_context;
}

namespace sluice::proxy {

struct backend_view {
    const config::backend* config;
    std::shared_ptr<backend_runtime> runtime;
};

struct listener_view {
    const config::listener* config;
    proxy::router router;
    std::vector<const backend_view*> route_backends;  // parallel to config->routes
    const backend_view* default_backend;
    // Set on a TLS listener; a connection holds it for its life, so a reload does not pull
    // certificates from under a handshake.
    std::shared_ptr<const net::tls_server_context> tls;
};

struct snapshot {
    // What a new snapshot takes from the one before: a reload reads the listeners' certificates
    // again; a change of discovered servers keeps the listeners as they are.
    enum class listeners_from { files, previous };

    // Builds routers and backend views. Backends named in `previous` keep their runtime,
    // reconciled with the new config. Throws std::runtime_error when an address does not resolve
    // or a listener's certificate cannot be used; then nothing of `previous` has been touched.
    snapshot(config::root cfg, unsigned threads, const snapshot* previous = nullptr,
             listeners_from tls_from = listeners_from::files);

    config::root config;
    std::vector<backend_view> backends;    // parallel to config.backends
    std::vector<listener_view> listeners;  // parallel to config.listeners

    const listener_view* find_listener(std::string_view name) const;
    const backend_view* find_backend(std::string_view name) const;
};

}  // namespace sluice::proxy
