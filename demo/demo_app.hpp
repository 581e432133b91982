#pragma once
// The built-in app server behind `sluice demo`: an HTTP/1.1 server that behaves like a gunicorn
// pool of sync workers, so the demo can show what the proxy's queue and health signal are for.
//
//   GET /           takes a worker: 200 "hello from NAME (worker K)\n"
//   GET /work?ms=N  holds a worker for N ms (a timer, no thread sleeps): 200 "NAME worked N ms\n"
//   GET /healthz    off the pool, at once: 200 "free" while a worker is idle, else 503 "busy"
//   anything else   404
//
// Requests beyond `workers` wait for a worker in the app's own FIFO, invisible from outside,
// which is exactly the pile-up the proxy's bounded queue prevents. Idle keep-alive connections
// close after keepalive_timeout (gunicorn's default is 2 s), so the demo also exercises the
// proxy's pool idle_timeout. Asio stays out of this header (STYLE.md section 8).

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace boost::asio {
class io_context;
}

namespace sluice::proxy {

struct demo_app_options {
    std::string name;                // shown in responses, e.g. "demo1"
    std::string host = "127.0.0.1";  // an IP address: no DNS on the event loop
    std::uint16_t port = 0;          // 0 = ephemeral, see demo_app::port()
    unsigned workers = 2;            // requests handled at once; the others wait, FIFO
    std::chrono::milliseconds keepalive_timeout{2000};  // idle keep-alive connections close
};

class demo_app {
public:
    // Binds and listens at once, so a taken port fails here with a std::system_error that names
    // the app and the address. Runs only on `io` (single-threaded).
    demo_app(boost::asio::io_context& io, demo_app_options options);
    // Stops; connection coroutines still suspended on `io` end when it runs or is destroyed.
    ~demo_app();
    demo_app(const demo_app&) = delete;
    demo_app& operator=(const demo_app&) = delete;

    std::uint16_t port() const;
    // Begins accepting on the io_context. Call once.
    void start();
    // Closes the listener and every connection, wakes requests waiting for a worker. Safe from
    // any thread: it takes effect on the io_context's thread.
    void stop();

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace sluice::proxy
