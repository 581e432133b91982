// The edge share's runtime side (SPEC.md "Several sluice instances"): the peer watch's count
// reaches every backend on the control thread, where reloads run too, so a new count and a new
// snapshot never cross.

#include "proxy/runtime/runtime_impl.hpp"

#include <boost/asio/post.hpp>

namespace sluice::proxy {

namespace {

bool same_peers(const config::scale_out_peers& a, const config::scale_out_peers& b)
{
    return a.dns == b.dns && a.interval == b.interval && same_resolvers(a.resolvers, b.resolvers);
}

}  // namespace

// Starts, restarts or ends the peer watch for `cfg` (at start and after each reload); without
// scale_out.peers this instance is alone again.
void runtime::impl::watch_peers(const config::root& cfg)
{
    const auto& wanted = cfg.scale_out.peers;
    if (wanted && peers && same_peers(*wanted, peers->config())) return;
    const bool counted_before = peers != nullptr;
    peers.reset();
    const auto generation = ++peer_watch_generation;
    if (!wanted) {
        peers_answered.store(true);
        apply_peers(1);
        return;
    }
    if (!counted_before) peers_answered.store(false);  // a changed name keeps the last count
    peers = std::make_unique<peer_watch>(*wanted, [this, generation](unsigned n) {
        asio::post(control, [this, generation, n] {
            if (generation != peer_watch_generation) return;
            apply_peers(n);
            peers_answered.store(true);
        });
    });
}

void runtime::impl::apply_peers(unsigned n)
{
    peer_count = n;
    std::lock_guard lock(state_mutex);
    for (const auto& b : current->backends) b.runtime->set_peers(n);
}

}  // namespace sluice::proxy
