#pragma once
// Active health checks, on their own thread and io_context: they never share an event loop, a
// lock or a request slot with real traffic. Per server one loop: an agent probe (when an agent
// port is set), then an HTTP probe (or a TCP connect without `health.http`), then a jittered
// wait; so never more than one check of a server is in flight, and servers are not checked in
// lock-step. Results go out through the target's callbacks (called on the checker thread).

#include "config/model.hpp"
#include "health/agent_reply.hpp"
#include "health/server_state.hpp"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace sluice::health {

struct check_target {
    std::string backend, server;
    config::endpoint address;
    config::health health;
    std::optional<std::uint16_t> agent_port;  // the server's, else the backend's
    std::function<void(const check_result&)> on_check;
    std::function<void(const agent_reply&)> on_agent;
    std::function<void(const std::string& problem)> on_agent_problem;  // unreachable or malformed
    std::function<void(std::string_view result, double seconds)> on_measured;  // metrics
};

class checker {
public:
    checker();
    ~checker();  // stops and joins
    checker(const checker&) = delete;
    checker& operator=(const checker&) = delete;

    void start();
    // Replaces every target (a reload); the old loops end at their next wake-up.
    void set_targets(std::vector<check_target> targets);
    void stop();

private:
    struct impl;
    std::shared_ptr<impl> impl_;
};

}  // namespace sluice::health
