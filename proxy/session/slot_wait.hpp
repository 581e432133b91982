#pragma once
// Internal to the client session: waiting for a server slot.

#include "proxy/session/session.hpp"

namespace sluice::proxy {

struct slot_result {
    enum class kind { granted, queue_full, queue_timeout, client_gone, refused } outcome;
    std::size_t server;
    clock::duration waited{};  // in the queue; zero when a slot was free at once
};

// After slot_table::admit() found no free slot: the queue's answer (full), or the wait in
// it. `on_queued` runs when the request joins the queue.
awaitable<slot_result> acquire_slot(client_connection& c, exchange& x,
                                    slot_table::admission admission,
                                    const std::function<void()>& on_queued = {});

// Holds a granted slot and gives it back exactly once, adding the time it was held to `held_ms`.
class slot_hold {
public:
    slot_hold(slot_table& slots, std::size_t server, double& held_ms)
        : slots_(&slots), server_(server), held_ms_(held_ms)
    {
    }
    slot_hold(const slot_hold&) = delete;
    slot_hold& operator=(const slot_hold&) = delete;
    ~slot_hold() { release(); }
    void release()
    {
        if (!slots_) return;
        std::exchange(slots_, nullptr)->release(server_);
        held_ms_ += ms_since(granted_);
    }

private:
    slot_table* slots_;
    std::size_t server_;
    double& held_ms_;
    clock::time_point granted_ = clock::now();
};

}  // namespace sluice::proxy
