#pragma once
// A name resolved again and again on a thread of its own (c-ares blocks there, never on an event
// loop): every answer, failures included, goes to `on_answer` on that thread; the next query
// follows `interval`, sooner when the records' TTL is shorter (membership.hpp next_delay).
// Shared by discovery (backends[].discovery) and the edge share's peer count (scale_out.peers).

#include "net/dns_resolver.hpp"

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace sluice::proxy {

class dns_watch {
public:
    dns_watch(net::dns_query query, std::chrono::milliseconds interval,
              std::function<void(const net::resolve_answer&)> on_answer);
    // Stops and joins: at most one resolution in progress to wait for (its timeout per resolver).
    ~dns_watch();
    dns_watch(const dns_watch&) = delete;
    dns_watch& operator=(const dns_watch&) = delete;

private:
    void run();

    net::dns_query query_;
    std::chrono::milliseconds interval_;
    std::function<void(const net::resolve_answer&)> on_answer_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace sluice::proxy
