#pragma once
// The admin listener of SPEC.md ("Admin endpoints"): /healthz /livez /readyz /metrics /status,
// served on its own thread and io_context so that a saturated proxy still answers its load
// balancer's health check at once. It knows nothing of the proxy: what it reports comes in
// through admin_sources. Asio stays out of this header (STYLE.md section 8).
//
//   GET|HEAD /healthz  the busy/free atomic only: 200 "free", 503 "busy", 503 "draining"
//   GET|HEAD /livez    200 "live" while live(), else 503
//   GET|HEAD /readyz   200 "ready", else 503 with ready()'s reason
//   GET|HEAD /metrics  metrics_text(), Prometheus text format 0.0.4
//   GET|HEAD /status   status_json()
//   GET|HEAD /         the status page (status_page.html: one document that reads /status)
//   POST /servers/BACKEND/SERVER/state|weight, POST /reload   handed to post() (admin API)
//   other paths 404, other methods 405, in JSON; a body over 512 bytes gets 413 and a head over
//   8 KiB 431, and the connection closes; idle keep-alive connections close after 5 s.

#include "config/model.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>

namespace sluice::admin {

enum class proxy_signal : int { free = 0, busy = 1, draining = 2 };

// A POST to the admin API, as read; the admin server checks only the path's shape.
struct admin_request {
    std::string target;
    std::string body;           // at most max_post_body bytes
    std::string peer;           // "127.0.0.1:40112", or "unix" for a unix-socket client
    std::string authorization;  // the Authorization header, "" when absent
};
struct admin_reply {
    unsigned status = 200;
    std::string json;
};
inline constexpr std::size_t max_post_body = 512;
// How long a POST may take (a reload resolves server names) before it is answered 504.
inline constexpr auto post_timeout = std::chrono::seconds(60);

// Called on the admin thread; each function must be thread-safe (the caller's contract).
struct admin_sources {
    // Read by /healthz with a relaxed load: never takes a lock that request handling holds.
    const std::atomic<int>* signal;  // a proxy_signal value; must outlive the admin_server
    std::function<bool()> live;      // /livez: event loops answered a heartbeat recently
    std::function<std::pair<bool, std::string>()> ready;  // /readyz: ok + a short reason text
    std::function<std::string()> metrics_text;  // /metrics body (Prometheus text format 0.0.4)
    std::function<std::string()> status_json;   // /status body
    // A POST: `done` takes the answer, on any thread, once (a reload answers from the control
    // thread). Unset: every POST is answered 404.
    std::function<void(admin_request, std::function<void(admin_reply)> done)> post;
};

class admin_server {
public:
    // Binds and listens at once (host:port or unix:/path; port 0 = ephemeral), so a taken
    // address fails here: std::runtime_error naming the address. A stale unix socket file at
    // the path is replaced. Throws std::invalid_argument when sources.signal is null.
    admin_server(const config::endpoint& bind, admin_sources sources);
    // Stops and joins the thread.
    ~admin_server();
    admin_server(const admin_server&) = delete;
    admin_server& operator=(const admin_server&) = delete;

    // Starts the admin thread, running its own io_context. Call once.
    void start();
    // Closes the listener and every connection, then joins the thread. Idempotent; not to be
    // called from a source function (it runs on the thread being joined).
    void stop();
    // "127.0.0.1:PORT" with the real port, or "unix:/path".
    std::string local_address() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace sluice::admin
