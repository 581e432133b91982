#include "proxy/runtime/snapshot.hpp"

#include "net/socket_address.hpp"
#include "net/tls_server_context.hpp"

namespace sluice::proxy {

snapshot::snapshot(config::root cfg, unsigned threads, const snapshot* previous,
                   listeners_from tls_from)
    : config(std::move(cfg))
{
    // Every address resolves before any shared runtime changes, so a failed reload changes nothing.
    for (const auto& b : config.backends)
        for (const auto& s : b.servers) net::to_socket_address(s.address);
    std::vector<std::shared_ptr<const net::tls_server_context>> tls;
    for (const auto& l : config.listeners) {
        const auto* before = previous ? previous->find_listener(l.name) : nullptr;
        if (tls_from == listeners_from::previous && before) {
            tls.push_back(before->tls);
            continue;
        }
        tls.push_back(l.tls ? std::make_shared<net::tls_server_context>(
                                  l, before && before->tls ? before->tls->keys() : nullptr)
                            : nullptr);
    }
    backends.reserve(config.backends.size());
    for (const auto& b : config.backends) {
        const auto* before = previous ? previous->find_backend(b.name) : nullptr;
        std::shared_ptr<backend_runtime> rt;
        if (before) {
            rt = before->runtime;
            rt->reconcile(b);
        } else {
            rt = std::make_shared<backend_runtime>(b, threads);
        }
        backends.push_back({&b, std::move(rt)});
    }
    for (const auto& l : config.listeners) {
        listener_view view{
            &l, router(l), {}, find_backend(l.default_backend), std::move(tls[listeners.size()])};
        for (const auto& r : l.routes) view.route_backends.push_back(find_backend(r.backend));
        listeners.push_back(std::move(view));
    }
}

const listener_view* snapshot::find_listener(std::string_view name) const
{
    for (const auto& l : listeners)
        if (l.config->name == name) return &l;
    return nullptr;
}

const backend_view* snapshot::find_backend(std::string_view name) const
{
    for (const auto& b : backends)
        if (b.config->name == name) return &b;
    return nullptr;
}

}  // namespace sluice::proxy
