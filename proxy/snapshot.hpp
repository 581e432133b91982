#pragma once
// An immutable view of one loaded configuration: what every request is routed and served by.
// A reload builds a new snapshot and swaps it in; requests that started on the old one keep it
// alive through their shared_ptr. Backend state that must outlive a reload (slots, queue,
// pools) lives in backend_runtime objects that a new snapshot may share with the old one.

#include "config/model.hpp"
#include "proxy/backend_runtime.hpp"
#include "proxy/router.hpp"

#include <memory>
#include <vector>

namespace sluice::proxy {

struct listener_view {
    const config::listener* config;
    proxy::router router;
    std::vector<backend_runtime*> route_backends;  // parallel to config->routes
    backend_runtime* default_backend;
};

struct snapshot {
    // Builds routers and backend runtimes; throws std::runtime_error when an address does not
    // resolve.
    snapshot(config::root cfg, unsigned threads);

    config::root config;
    std::vector<std::shared_ptr<backend_runtime>> backends;
    std::vector<listener_view> listeners;  // parallel to config.listeners

    const listener_view* find_listener(const std::string& name) const;
    backend_runtime* find_backend(const std::string& name) const;
};

}  // namespace sluice::proxy
