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

// A response this large may still be on its way when the connection closes.
constexpr std::uint64_t large_response = 64 * 1024;

}  // namespace

bool needs_linger(client_connection& c, const exchange& x)
{
    if (c.w.stopping || x.rec.bytes_out == 0 || x.rec.status == 408) return false;
    if (!x.parser->is_done()) return true;
    if (c.buffer.size() == 0 && x.rec.bytes_out < large_response) return false;
    error_code ec;
    return c.socket.available(ec) > 0;
}

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
