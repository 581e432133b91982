#include "proxy/demo.hpp"

#include "config/loader.hpp"
#include "proxy/demo_app.hpp"
#include "proxy/event_log.hpp"
#include "proxy/runtime.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <iostream>
#include <thread>

namespace sluice::proxy {

namespace {

// Two workers per app and a short queue timeout, so a handful of curls shows queueing, 503s
// and the busy signal.
constexpr const char* demo_yaml = R"(
threads: 1
access_log: stdout
listeners:
  - name: web
    bind: 127.0.0.1:8080
    default_backend: demo
admin:
  bind: 127.0.0.1:9090
  busy_hold: 500ms
timeouts:
  queue: 10s
  server: 30s
backends:
  - name: demo
    balance: leastconn
    queue: { max_length: 50 }
    server_defaults: { max_connections: 2, keepalive_timeout: 2s, worker_timeout: 30s }
    servers:
      - { name: demo1, address: 127.0.0.1:8001 }
      - { name: demo2, address: 127.0.0.1:8002 }
)";

constexpr const char* try_this = R"(
sluice demo: proxy on http://127.0.0.1:8080, admin on http://127.0.0.1:9090
two demo app servers (2 sync workers each) on 127.0.0.1:8001 and :8002

try:
  curl -s http://127.0.0.1:8080/
  curl -s 'http://127.0.0.1:8080/work?ms=2000'
  for i in $(seq 10); do curl -s 'http://127.0.0.1:8080/work?ms=3000' & done; sleep 1
  curl -si http://127.0.0.1:9090/healthz        # 503 busy while requests queue
  curl -s http://127.0.0.1:9090/status
  curl -s http://127.0.0.1:9090/metrics | grep sluice_queue
Ctrl-C stops everything.
)";

}  // namespace

int run_demo()
{
    boost::asio::io_context apps_io{1};
    demo_app app1(apps_io, {.name = "demo1", .port = 8001, .workers = 2});
    demo_app app2(apps_io, {.name = "demo2", .port = 8002, .workers = 2});
    app1.start();
    app2.start();
    auto guard = boost::asio::make_work_guard(apps_io);
    std::thread apps_thread([&] { apps_io.run(); });

    auto cfg = config::load_string(demo_yaml, "<demo>");
    int code = 1;
    try {
        runtime rt(std::move(cfg.config), "");
        std::cout << try_this << std::flush;
        code = rt.run();
    } catch (...) {
        app1.stop();
        app2.stop();
        guard.reset();
        apps_thread.join();
        throw;
    }
    app1.stop();
    app2.stop();
    guard.reset();
    apps_thread.join();
    flush_event_log();
    return code;
}

}  // namespace sluice::proxy
