#include "proxy/runtime.hpp"

#include "health/admin_server.hpp"
#include "health/metrics.hpp"
#include "proxy/event_log.hpp"
#include "proxy/listener.hpp"
#include "proxy/proxy_status.hpp"
#include "proxy/runtime_monitor.hpp"
#include "proxy/systemd_notify.hpp"
#include "proxy/worker.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <thread>

namespace sluice::proxy {

namespace asio = boost::asio;

struct runtime::impl {
    impl(config::root cfg, std::string path);
    void start_threads();
    void stop();
    void on_signal(int sig);
    void begin_drain();
    void stop_accepting();
    void wait_for_connections(clock::time_point deadline);
    std::uint64_t open_connections() const;
    bool raw_busy() const;
    health::admin_sources admin_sources();
    status_inputs status() const { return {*current, listeners, monitor->busy(), monitor->draining()}; }

    std::string config_path;
    asio::io_context control{1};
    health::metrics metrics;
    std::unique_ptr<access_log> log;
    std::vector<std::unique_ptr<worker>> workers;
    std::shared_ptr<const snapshot> current;  // the control thread's; workers hold copies
    std::vector<std::unique_ptr<listener>> listeners;
    std::unique_ptr<runtime_monitor> monitor;
    std::unique_ptr<health::admin_server> admin;
    std::vector<std::thread> threads;
    std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
    asio::signal_set signals{control, SIGTERM, SIGINT, SIGHUP};
    asio::steady_timer drain_timer{control};
    bool draining = false;
};

namespace {

unsigned thread_count(const config::root& cfg)
{
    if (cfg.threads > 0)
        return cfg.threads;
    return std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace

runtime::impl::impl(config::root cfg, std::string path) : config_path(std::move(path))
{
    const unsigned n = thread_count(cfg);
    log = access_log::open(cfg.access_log);
    current = std::make_shared<const snapshot>(std::move(cfg), n);
    std::vector<worker*> raw;
    for (unsigned i = 0; i < n; ++i) {
        workers.push_back(std::make_unique<worker>(i, log.get(), metrics.add_shard()));
        workers.back()->current = current;
        raw.push_back(workers.back().get());
    }
    const auto& ls = current->config.listeners;
    for (std::size_t i = 0; i < ls.size(); ++i) {
        listeners.push_back(std::make_unique<listener>(workers[i % n]->io, ls[i], i, raw));
        log_event(severity::info, "listener " + ls[i].name + " listening on " +
                                      listeners.back()->local_address());
    }
    monitor = std::make_unique<runtime_monitor>(control, raw, metrics,
                                                current->config.admin.busy_hold,
                                                [this] { return raw_busy(); });
    admin = std::make_unique<health::admin_server>(current->config.admin.bind, admin_sources());
    log_event(severity::info, "admin listening on " + admin->local_address());
}

bool runtime::impl::raw_busy() const
{
    bool at_limit = false;
    for (const auto& l : listeners)
        at_limit = at_limit || l->at_limit();
    std::size_t queued = 0, free = 0;
    for (const auto& b : current->backends) {
        queued += b->queue_length();
        free += b->free_slots();
    }
    return health::raw_busy(queued, free, at_limit);
}

health::admin_sources runtime::impl::admin_sources()
{
    // These run on the admin thread. `current` and `listeners` change only on the control thread
    // during a reload, which stops and restarts nothing the admin thread reads.
    return {&monitor->signal(),
            [this] { return monitor->live(); },
            [this] { return readiness(*current); },
            [this] { return metrics.scrape(collect_gauges(status())); },
            [this] { return status_json(status()); }};
}

void runtime::impl::start_threads()
{
    for (auto& w : workers) {
        guards.push_back(asio::make_work_guard(w->io));
        w->sweeper.start();
    }
    for (auto& l : listeners)
        l->start();
    for (auto& w : workers)
        threads.emplace_back([&io = w->io] { io.run(); });
    monitor->start();
    admin->start();
}

void runtime::impl::stop()
{
    monitor->stop();
    admin->stop();
    for (auto& l : listeners)
        l->stop();
    for (auto& w : workers)
        asio::post(w->io, [&w = *w] { w.sweeper.stop(); });
    guards.clear();
    for (auto& w : workers)
        w->io.stop();
    for (auto& t : threads)
        t.join();
}

void runtime::impl::on_signal(int sig)
{
    if (sig == SIGHUP) {
        log_event(severity::warning, "SIGHUP: reload is not built yet; the config is unchanged");
        return;
    }
    if (draining) {
        log_event(severity::warning, "second stop signal: exiting now, without waiting");
        control.stop();
        return;
    }
    begin_drain();
}

// SPEC.md: /healthz says draining at once; serving goes on for drain_notice so the load balancer
// in front sees it and stops sending; then no new connections, Connection: close on every
// response, idle connections closed, in-flight requests finish within timeouts.drain.
void runtime::impl::begin_drain()
{
    draining = true;
    notify_systemd("STOPPING=1");
    monitor->set_draining();
    const auto notice = current->config.admin.drain_notice;
    log_event(severity::info, "draining: /healthz answers 503 draining; still serving for " +
                                  std::to_string(notice.count()) + " ms (admin.drain_notice)");
    drain_timer.expires_after(notice);
    drain_timer.async_wait([this](boost::system::error_code ec) {
        if (!ec)
            stop_accepting();
    });
}

void runtime::impl::stop_accepting()
{
    for (auto& l : listeners)
        l->stop();
    for (auto& w : workers)
        asio::post(w->io, [&w = *w] {
            w.draining = true;
            w.close_idle();
        });
    const auto drain = current->config.timeouts.drain;
    log_event(severity::info, "no longer accepting; waiting up to " +
                                  std::to_string(drain.count()) +
                                  " ms (timeouts.drain) for requests in flight");
    wait_for_connections(clock::now() + drain);
}

std::uint64_t runtime::impl::open_connections() const
{
    std::uint64_t open = 0;
    for (const auto& l : listeners)
        open += l->open_connections();
    return open;
}

void runtime::impl::wait_for_connections(clock::time_point deadline)
{
    const auto open = open_connections();
    if (open == 0) {
        log_event(severity::info, "drained: every connection has closed");
        control.stop();
        return;
    }
    if (clock::now() >= deadline) {
        log_event(severity::warning, std::to_string(open) +
                                         " client connection(s) still open at timeouts.drain; "
                                         "closing them");
        control.stop();
        return;
    }
    drain_timer.expires_after(std::chrono::milliseconds(20));
    drain_timer.async_wait([this, deadline](boost::system::error_code ec) {
        if (!ec)
            wait_for_connections(deadline);
    });
}

runtime::runtime(config::root cfg, std::string config_path)
    : impl_(std::make_unique<impl>(std::move(cfg), std::move(config_path)))
{
}

runtime::~runtime() = default;

int runtime::run()
{
    std::function<void()> wait_signal = [this, &wait_signal] {
        impl_->signals.async_wait([this, &wait_signal](boost::system::error_code ec, int sig) {
            if (ec)
                return;
            impl_->on_signal(sig);
            wait_signal();
        });
    };
    wait_signal();
    impl_->start_threads();
    notify_systemd("READY=1");
    impl_->control.run();
    impl_->stop();
    log_event(severity::info, "stopped");
    return 0;
}

}  // namespace sluice::proxy
