#pragma once
// Active health checks, on their own thread and io_context: they never share an event loop, a
// lock or a request slot with real traffic. Per server one loop: an agent probe (when an agent
// port is set), then an HTTP probe (or a TCP connect without `health.http`), then a jittered
// wait; so never more than one check of a server is in flight, and servers are not checked in
// lock-step. Results go out through the target's callbacks (called on the checker thread).

#include "config/model.hpp"
#include "health/agent_reply.hpp"
#include "health/busy_timeout.hpp"
#include "health/server_state.hpp"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace sluice::net {
class tls_client_context;
}

namespace sluice::health {

// An agent probe that gave nothing to apply. Only `unreachable` is a state of the agent (shown
// in /status, never a failure); both are logged.
struct agent_problem {
    enum class kind { unreachable, malformed };
    kind what;
    std::string text;  // "agent unreachable: connect: Connection refused"
};

struct check_target {
    std::string backend, server;
    config::endpoint address;
    config::protocol protocol = config::protocol::http;  // for the hint on a failed check
    config::health health;
    // With `health.http`: the check request in the backend's protocol, built by the proxy
    // (proxy/http/check_request), or why it cannot be built (then every check fails with it).
    std::string request, request_error;
    std::optional<std::uint16_t> agent_port;  // the server's, else the backend's
    // The server's `tls`: an HTTP check speaks TLS to it as requests do (a TCP check only
    // connects).
    std::shared_ptr<const net::tls_client_context> tls;
    // Sent first on every check connection to a server with `proxy_protocol`: a LOCAL header
    // (v2) or UNKNOWN (v1), as a balancer's own check says it speaks for itself.
    std::string proxy_header;
    clock::duration busy_window{};
    // The server's activity, read as a check starts and when it times out (busy_timeout.hpp);
    // null: a timeout is always a failure.
    std::function<server_activity()> activity;
    std::function<void(const check_result&)> on_check;
    std::function<void(const agent_reply&)> on_agent;
    std::function<void(const agent_problem&)> on_agent_problem;
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
