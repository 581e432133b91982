#include "proxy/runtime/peer_watch.hpp"

#include "proxy/log/event_log.hpp"

#include <algorithm>

namespace sluice::proxy {

namespace {

net::dns_query query_of(const config::scale_out_peers& peers)
{
    net::dns_query query;
    query.name = peers.dns;
    query.resolvers = peers.resolvers;
    return query;
}

}  // namespace

peer_watch::peer_watch(config::scale_out_peers peers, std::function<void(unsigned)> on_count)
    : peers_(std::move(peers)), on_count_(std::move(on_count)),
      watch_(query_of(peers_),
             std::chrono::duration_cast<std::chrono::milliseconds>(peers_.interval),
             [this](const net::resolve_answer& a) { on_answer(a); })
{
}

void peer_watch::on_answer(const net::resolve_answer& answer)
{
    if (answer.failure) {
        const std::string problem(to_string(*answer.failure));
        if (problem != last_problem_)
            log_event(severity::warning, "scale_out.peers: resolving " + peers_.dns + " failed (" +
                                             problem + "); the edge share stays at " +
                                             std::to_string(std::max(count_, 1u)) + " instance(s)");
        last_problem_ = problem;
        return;
    }
    if (!last_problem_.empty())
        log_event(severity::info, "scale_out.peers: " + peers_.dns + " resolves again");
    last_problem_.clear();
    const auto n = static_cast<unsigned>(std::max<std::size_t>(1, answer.addresses.size()));
    if (n == count_) return;
    count_ = n;
    log_event(severity::info, "scale_out.peers: " + std::to_string(n) +
                                  " instance(s) share the servers of " + peers_.dns);
    on_count_(n);
}

}  // namespace sluice::proxy
