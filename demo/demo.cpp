#include "demo/demo.hpp"

#include "config/loader.hpp"
#include "demo/demo_app.hpp"
#include "net/thread_signals.hpp"
#include "proxy/log/event_log.hpp"
#include "proxy/runtime/runtime.hpp"

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

// The two demo app servers on their own thread: stopped and joined however run_demo ends.
struct demo_apps {
    demo_apps()
    {
        app1.start();
        app2.start();
        thread = net::thread_without_stop_signals([this] { io.run(); });
    }
    ~demo_apps()
    {
        app1.stop();
        app2.stop();
        guard.reset();
        thread.join();
    }

    boost::asio::io_context io{1};
    demo_app app1{io, {.name = "demo1", .port = 8001, .workers = 2}};
    demo_app app2{io, {.name = "demo2", .port = 8002, .workers = 2}};
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard{
        io.get_executor()};
    std::thread thread;
};

}  // namespace

int run_demo()
{
    int code;
    {
        demo_apps apps;
        auto cfg = config::load_string(demo_yaml, "<demo>");
        runtime rt(std::move(cfg.config), "");
        std::cout << try_this << std::flush;
        code = rt.run();
    }
    flush_event_log();
    return code;
}

}  // namespace sluice::proxy
