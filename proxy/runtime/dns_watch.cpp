#include "proxy/runtime/dns_watch.hpp"

#include "net/thread_signals.hpp"
#include "proxy/backend/membership.hpp"

namespace sluice::proxy {

dns_watch::dns_watch(net::dns_query query, std::chrono::milliseconds interval,
                     std::function<void(const net::resolve_answer&)> on_answer)
    : query_(std::move(query)), interval_(interval), on_answer_(std::move(on_answer)),
      thread_(net::thread_without_stop_signals([this] { run(); }))
{
}

dns_watch::~dns_watch()
{
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
}

void dns_watch::run()
{
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        lock.unlock();
        const auto answer = net::resolve(query_);
        lock.lock();
        if (stopping_) break;
        lock.unlock();
        on_answer_(answer);
        lock.lock();
        wake_.wait_for(lock, next_delay(interval_, answer.failure ? std::nullopt : answer.ttl),
                       [this] { return stopping_; });
    }
}

}  // namespace sluice::proxy
