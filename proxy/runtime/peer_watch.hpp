#pragma once
// The edge share's N (SPEC.md "Several sluice instances"): scale_out.peers.dns resolved every
// interval on a dns_watch's thread; each new count, at least 1, is reported. A failed resolution
// keeps the last count and is logged once per change of outcome.

#include "config/model.hpp"
#include "proxy/runtime/dns_watch.hpp"

#include <functional>
#include <string>

namespace sluice::proxy {

class peer_watch {
public:
    // `on_count` runs on the watch's thread, once at the first answer and at every change.
    peer_watch(config::scale_out_peers peers, std::function<void(unsigned)> on_count);

    const config::scale_out_peers& config() const { return peers_; }

private:
    void on_answer(const net::resolve_answer& answer);

    config::scale_out_peers peers_;
    std::function<void(unsigned)> on_count_;
    // The watch's thread only:
    unsigned count_ = 0;        // 0 until the first answer
    std::string last_problem_;  // logged once per change of outcome
    dns_watch watch_;           // last: its thread starts once the rest is built
};

}  // namespace sluice::proxy
