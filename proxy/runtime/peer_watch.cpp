#include "proxy/runtime/peer_watch.hpp"

#include "net/dns_resolver.hpp"
#include "proxy/log/event_log.hpp"

#include <algorithm>

namespace sluice::proxy {

peer_watch::peer_watch(config::scale_out_peers peers, std::function<void(unsigned)> on_count)
    : peers_(std::move(peers)), on_count_(std::move(on_count)), thread_([this] { run(); })
{
}

peer_watch::~peer_watch()
{
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
}

void peer_watch::run()
{
    net::dns_query query;
    query.name = peers_.dns;
    query.resolvers = peers_.resolvers;
    unsigned count = 0;        // 0 until the first answer
    std::string last_problem;  // logged once per change of outcome
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        lock.unlock();
        const auto answer = net::resolve(query);
        lock.lock();
        if (stopping_) break;
        if (answer.failure) {
            const std::string problem(to_string(*answer.failure));
            if (problem != last_problem)
                log_event(severity::warning,
                          "scale_out.peers: resolving " + peers_.dns + " failed (" + problem +
                              "); the edge share stays at " + std::to_string(std::max(count, 1u)) +
                              " instance(s)");
            last_problem = problem;
        } else {
            if (!last_problem.empty())
                log_event(severity::info, "scale_out.peers: " + peers_.dns + " resolves again");
            last_problem.clear();
            const auto n = static_cast<unsigned>(std::max<std::size_t>(1, answer.addresses.size()));
            if (n != count) {
                count = n;
                log_event(severity::info, "scale_out.peers: " + std::to_string(n) +
                                              " instance(s) share the servers of " + peers_.dns);
                lock.unlock();
                on_count_(n);
                lock.lock();
            }
        }
        const auto delay = std::chrono::duration_cast<std::chrono::milliseconds>(peers_.interval);
        wake_.wait_for(lock, delay, [this] { return stopping_; });
    }
}

}  // namespace sluice::proxy
