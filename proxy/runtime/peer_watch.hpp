#pragma once
// The edge share's N (SPEC.md "Several sluice instances"): a thread of its own resolves
// scale_out.peers.dns every interval (blocking in c-ares there, never on an event loop) and
// reports each new count, at least 1. A failed resolution keeps the last count and is logged
// once per change of outcome.

#include "config/model.hpp"

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace sluice::proxy {

class peer_watch {
public:
    // `on_count` runs on the watch's thread, once at the first answer and at every change.
    peer_watch(config::scale_out_peers peers, std::function<void(unsigned)> on_count);
    ~peer_watch();  // stops and joins
    peer_watch(const peer_watch&) = delete;
    peer_watch& operator=(const peer_watch&) = delete;

    const config::scale_out_peers& config() const { return peers_; }

private:
    void run();

    config::scale_out_peers peers_;
    std::function<void(unsigned)> on_count_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace sluice::proxy
