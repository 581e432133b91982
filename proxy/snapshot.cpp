#include "proxy/snapshot.hpp"

namespace sluice::proxy {

snapshot::snapshot(config::root cfg, unsigned threads) : config(std::move(cfg))
{
    for (const auto& b : config.backends)
        backends.push_back(std::make_shared<backend_runtime>(b, threads));
    for (const auto& l : config.listeners) {
        listener_view view{&l, router(l), {}, find_backend(l.default_backend)};
        for (const auto& r : l.routes)
            view.route_backends.push_back(find_backend(r.backend));
        listeners.push_back(std::move(view));
    }
}

const listener_view* snapshot::find_listener(const std::string& name) const
{
    for (const auto& l : listeners)
        if (l.config->name == name)
            return &l;
    return nullptr;
}

backend_runtime* snapshot::find_backend(const std::string& name) const
{
    for (const auto& b : backends)
        if (b->config().name == name)
            return b.get();
    return nullptr;
}

}  // namespace sluice::proxy
