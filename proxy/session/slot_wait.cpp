// Getting a server slot for a request: at once when one is free, else in the backend's FIFO
// until granted, timed out, or the client leaves. See slot_table.hpp for who may touch what.
#include "proxy/session/slot_wait.hpp"

namespace sluice::proxy {

namespace {

// Watches the idle client socket while the request waits, so a client that gives up leaves the
// queue at once instead of holding its place until the queue timeout.
void watch_client(client_connection& c, const std::shared_ptr<slot_waiter>& waiter,
                  std::shared_ptr<bool> gone)
{
    c.socket.async_wait(socket_type::wait_read, [&c, waiter, gone](error_code ec) {
        if (ec || waiter->granted) return;
        if (auto* tls = client_stream(c).tls) {
            // Records are not the end of a connection: its close_notify or its FIN is. A
            // record that brings no request (a key update, half a record) is watched past.
            if (tls->peer_gone(c.socket)) {
                *gone = true;
                waiter->wake.cancel();
            } else if (!tls->holds_input()) {
                watch_client(c, waiter, gone);
            }
            return;
        }
        char byte;
        auto n = ::recv(c.socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
            *gone = true;
            waiter->wake.cancel();
        }
    });
}

}  // namespace

awaitable<slot_result> acquire_slot(client_connection& c, exchange& x,
                                    slot_table::admission admission,
                                    const std::function<void()>& on_queued)
{
    if (admission.result == request_queue::outcome::rejected_full)
        co_return slot_result{slot_result::kind::queue_full, 0};
    if (on_queued) on_queued();
    const auto queued_at = clock::now();

    auto waiter = admission.waiter;
    auto gone = std::make_shared<bool>(false);
    const bool body_pending = !x.parser->is_done();
    if (!body_pending && c.buffer.size() == 0) watch_client(c, waiter, gone);
    // The request's own deadline ends the wait too: past it, no answer from a server can come
    // in time, and the slot would go to a request nobody waits for any more.
    const auto deadline = std::min<clock::time_point>(x.start + x.timeouts.queue, x.deadline);
    waiter->wake.expires_at(deadline);
    for (;;) {
        co_await waiter->wake.async_wait(use_tuple);
        if (waiter->granted) break;
        if (waiter->refused) {
            error_code ignored;
            c.socket.cancel(ignored);
            co_return slot_result{slot_result::kind::refused, 0, clock::now() - queued_at};
        }
        const bool timed_out = clock::now() >= deadline;
        if (!timed_out && !*gone) continue;
        if (x.backend->slots().cancel(waiter->ticket)) {
            error_code ignored;
            c.socket.cancel(ignored);
            co_return slot_result{*gone ? slot_result::kind::client_gone
                                        : slot_result::kind::queue_timeout,
                                  0, clock::now() - queued_at};
        }
        // Too late to leave: a grant is already posted to this thread. Take it.
        waiter->wake.expires_at(clock::time_point::max());
    }
    error_code ignored;
    c.socket.cancel(ignored);  // ends watch_client's wait
    co_return slot_result{slot_result::kind::granted, *waiter->granted, clock::now() - queued_at};
}

}  // namespace sluice::proxy
