#pragma once
// The health of a backend's servers as the proxy acts on it: active check and agent results,
// passive results of requests, the admin API's word, and the clock (ejections ending, slow-start
// ramps). Each event changes a server's health::server_state and, in the same step under the slot
// table's lock, what the slot table gives that server (its weight and max_connections); a
// transition is logged once the lock is released.

#include "health/agent_reply.hpp"
#include "health/api_override.hpp"
#include "health/busy_timeout.hpp"
#include "health/server_state.hpp"
#include "net/io_types.hpp"
#include "proxy/backend/request_queue.hpp"

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::proxy {

// Declared only: this header sits on the request path's include chain (STYLE.md section 8).
struct server_runtime;
class slot_table;

class server_health {
public:
    // `servers` and `active` belong to the backend_runtime, which outlives this; both are guarded
    // by the slot table's lock.
    server_health(const std::string& backend, slot_table& slots,
                  const std::vector<std::unique_ptr<server_runtime>>& servers,
                  const std::vector<std::size_t>& active);

    // Passive health: how a request sent to `server` ended. `failed`: connect failure, reset,
    // timeout, or 502/503/504 from the server. `what` names it for the ejection's log line.
    void report_result(std::size_t server, bool failed, std::string_view what);
    // Active health: results of the checker, for a server index of active_servers().
    void on_check(std::size_t server, const health::check_result& r);
    void on_agent(std::size_t server, const health::agent_reply& r);
    void on_agent_unreachable(std::size_t server);
    // The admin API's change to the server of the current config named `server`; nullopt when
    // there is none. Like a check result: O(1) under the lock. The caller logs the change.
    struct api_outcome {
        std::size_t index;  // the server's record
        health::server_status from, to;
        std::string override_text;  // the override now in force ("" = none)
    };
    std::optional<api_outcome> on_api(std::string_view server, const health::api_change& change);
    // Ends ejections whose time is up and moves slow-start ramps along.
    void tick();
    bool has_server_up() const;
    // Why no server of the current config is up, for the 503 of a request that waited for one:
    // "every server is down: app1 (3 checks in a row, last failed: ...)"; "" when one is up.
    // Takes the lock (O(servers)): for the moment a request gives up, not for every request.
    std::string unavailable_reason() const;
    // A server's slots in use, its limit and its answer count, for the checker's busy-or-dead
    // verdict. Takes the lock for O(1), from any thread; like on_check, once per check.
    health::server_activity activity(std::size_t server) const;

    // Under the slot table's lock (a reload): passive.max_ejected_percent of the new config.
    void set_max_ejected_percent(unsigned percent) { max_ejected_percent_ = percent; }
    // Under the slot table's lock: how many sluice instances share the servers (edge_share.hpp);
    // the caller refreshes every server after.
    void set_peers(unsigned peers) { peers_ = peers; }
    unsigned peers() const { return peers_; }
    // Under the slot table's lock: puts a server's state into `queue` (weight, max); returns the
    // grants it allows.
    std::vector<request_queue::grant> refresh(request_queue& queue, std::size_t server,
                                              clock::time_point now) const;
    std::vector<request_queue::grant> refresh_all(request_queue& queue,
                                                  clock::time_point now) const;

private:
    template <class Event>
    void handle(std::size_t server, Event&& event);
    bool ejection_allowed() const;  // under the lock: passive.max_ejected across the backend

    const std::string& backend_;
    slot_table& slots_;
    const std::vector<std::unique_ptr<server_runtime>>& servers_;
    const std::vector<std::size_t>& active_;
    unsigned max_ejected_percent_ = 50;
    unsigned peers_ = 1;
};

}  // namespace sluice::proxy
