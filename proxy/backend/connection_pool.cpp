#include "proxy/backend/connection_pool.hpp"

#include "net/tls_channel.hpp"

namespace sluice::proxy {

namespace {
constexpr auto recently_used = std::chrono::milliseconds(250);
constexpr std::size_t kept_buffer_capacity = 16 * 1024;
}  // namespace

std::unique_ptr<upstream_connection> connection_pool::take(clock::duration idle_timeout,
                                                           bool verify, std::string_view client,
                                                           std::uint32_t tls_generation)
{
    const auto now = coarse_now();
    // Most recently used first: it is the least likely to have been closed by the server.
    for (auto i = idle_.size(); i-- > 0;) {
        if (idle_[i]->proxied_for != client || idle_[i]->tls_generation != tls_generation) continue;
        auto c = std::move(idle_[i]);
        idle_.erase(idle_.begin() + static_cast<std::ptrdiff_t>(i));
        count();
        const auto idle = now - c->idle_since;
        // Bytes past a response (a body an app writes for a HEAD or a 304) would be read as the
        // next one's: a connection whose server has been heard from since is checked.
        if (idle >= idle_timeout) continue;
        if ((!verify && idle < recently_used && !c->may_be_stale()) || !c->is_stale()) return c;
    }
    return nullptr;
}

void connection_pool::put(std::unique_ptr<upstream_connection> c, std::size_t max_idle)
{
    if (idle_.size() >= max_idle) return;
    c->idle_since = coarse_now();
    // An idle connection keeps no relay-sized buffer; a head-sized one is kept, so the next
    // response on it needs no allocation. Over TLS OpenSSL's record buffers go too.
    if (c->buffer.size() == 0 && c->buffer.capacity() > kept_buffer_capacity)
        c->buffer.shrink_to_fit();
    if (c->tls) c->tls->release_idle();
    idle_.push_back(std::move(c));
    count();
}

void connection_pool::drop_oldest()
{
    if (idle_.empty()) return;
    idle_.pop_front();
    count();
}

void connection_pool::prune(clock::duration idle_timeout)
{
    const auto now = coarse_now();
    while (!idle_.empty() && now - idle_.front()->idle_since >= idle_timeout) idle_.pop_front();
    count();
}

}  // namespace sluice::proxy
