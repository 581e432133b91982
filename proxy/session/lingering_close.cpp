#include "proxy/session/lingering_close.hpp"

#include "net/read_readiness.hpp"
#include "proxy/runtime/worker.hpp"
#include "proxy/session/session.hpp"

#include <algorithm>

namespace sluice::proxy {

namespace {

constexpr clock::duration linger_limit = std::chrono::seconds(30);
constexpr clock::duration linger_pause = std::chrono::seconds(5);

// Reads and drops what has arrived; false once the client has closed or reset. Raw bytes, TLS
// records included: nothing of them is read as a message.
bool discard_arrived(client_connection& c)
{
    error_code ec;
    do {
        const auto n = net::read_arrived(c.socket, c.buffer.prepare(16 * 1024), ec);
        if (!ec && n == 0) return false;
    } while (!ec);
    return ec == asio::error::would_block;
}

}  // namespace

awaitable<void> linger(client_connection& c)
{
    end_sending(c);
    const auto until = coarse_now() + linger_limit;
    c.deadline.park();  // a drain ends the wait at once
    while (!c.w.draining && !c.w.stopping) {
        const auto now = coarse_now();
        if (now >= until) break;
        c.deadline.arm_at(std::min(until, now + linger_pause));
        auto [ec] = co_await net::wait_readable(c.socket);
        c.deadline.disarm();
        if (ec || !discard_arrived(c)) break;
    }
    c.deadline.unpark();
}

}  // namespace sluice::proxy
