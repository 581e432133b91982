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
//   GET|HEAD /         a plain-text index of the above
//   other paths 404, other methods 405; a request with a body or a head over 8 KiB gets 400 or
//   431 and the connection closes; idle keep-alive connections close after 5 s.

#include "config/model.hpp"

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <utility>

namespace sluice::health {

enum class proxy_signal : int { free = 0, busy = 1, draining = 2 };

// Called on the admin thread; each function must be thread-safe (the caller's contract).
struct admin_sources {
    // Read by /healthz with a relaxed load: never takes a lock that request handling holds.
    const std::atomic<int>* signal;  // a proxy_signal value; must outlive the admin_server
    std::function<bool()> live;      // /livez: event loops answered a heartbeat recently
    std::function<std::pair<bool, std::string>()> ready;  // /readyz: ok + a short reason text
    std::function<std::string()> metrics_text;  // /metrics body (Prometheus text format 0.0.4)
    std::function<std::string()> status_json;   // /status body
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

}  // namespace sluice::health
