#pragma once
// A busy server is not a dead one (SPEC.md "Real app servers"): a check that times out while the
// server has every slot (max_connections) in flight and keeps answering requests says the worker
// pool is busy, not broken. Pure: the checker passes in the server's load and the time.
//
// "Keeps answering" means: a request sent through sluice got a response head that is not
// 502/503/504 from the server within `window` before the check gave up, where the window is the
// longest a request may legitimately wait for its answer there: timeouts.server (past it sluice
// answers 504 itself), or the app server's declared worker_timeout when shorter (past it the
// app server kills the worker, and a kill is no answer); never shorter than one check interval
// plus the check's timeout, i.e. since the check before.
//
// Why not "since the check started": a sync app server (gunicorn, uWSGI) hands a freed worker to
// the oldest connection in its listen backlog, which is the check's; had a request finished while
// the check waited, the check would have had that worker and passed. Why not "within the last
// interval": with requests longer than the interval (what a saturated pool of slow requests
// is), no answer may fall in it, and the check flaps the server down while it works (issue 13).
// A saturated pool answers nothing to checks, so its answers to requests are the only evidence,
// and a live pool gives one at least once per longest request. The cost of the long window:
// a hung pool that is saturated is called busy until its last answer is a window old; it gets no
// new requests meanwhile anyway (no free slot), and its stuck requests end in 504s, which the
// passive checks count.
//
// So the pool counts as broken only once it has gone a whole window, saturated, without an
// answer; until the checker has watched it for a window (after a start or a reload), a saturated
// server's timeouts are busy too, for the same reason: its requests may all still be young.
//
// Answers are a per-server counter (one relaxed increment on the request path); the checker
// records it as each check starts and compares at the timeout, so the window resolves to the
// check times (it may reach back up to one interval further, never less).
// A server without max_connections is never saturated: its timeouts stay failures.

#include "config/model.hpp"
#include "health/server_state.hpp"

#include <cstdint>
#include <deque>
#include <optional>

namespace sluice::health {

struct server_activity {
    unsigned in_flight = 0;
    unsigned max_connections = 0;  // 0 = no limit
    std::uint64_t answered = 0;    // requests answered since the server's record was made
};

// The window above; `server_timeout` 0 = none.
clock::duration busy_window(const config::health& h, config::duration server_timeout,
                            std::optional<config::duration> worker_timeout);

class busy_timeout {
public:
    explicit busy_timeout(clock::duration window) : window_(window) {}

    // A check starts: remembers how many requests the server had answered by then.
    void check_started(std::uint64_t answered, clock::time_point now);
    // The result to count for a finished check: a timed-out failure becomes `saturated` when
    // the server is busy; any other result is returned as it is.
    check_result judge(check_result r, const server_activity& load, clock::time_point now) const;

private:
    struct sample {
        clock::time_point at;
        std::uint64_t answered;
    };
    // The newest sample at least `window_` old; nullopt while the checker is younger.
    std::optional<sample> baseline(clock::time_point now) const;

    clock::duration window_;
    std::deque<sample> samples_;  // oldest first; pruned to one older than the window
};

}  // namespace sluice::health
