#include "proxy/runtime.hpp"

#include "health/admin_server.hpp"
#include "health/metrics.hpp"
#include "proxy/event_log.hpp"
#include "proxy/listener.hpp"
#include "proxy/proxy_status.hpp"
#include "proxy/runtime_monitor.hpp"
#include "proxy/worker.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>

#include <thread>

namespace sluice::proxy {

namespace asio = boost::asio;

struct runtime::impl {
    impl(config::root cfg, std::string path);
    void start_threads();
    void stop();
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

runtime::runtime(config::root cfg, std::string config_path)
    : impl_(std::make_unique<impl>(std::move(cfg), std::move(config_path)))
{
}

runtime::~runtime() = default;

int runtime::run()
{
    asio::signal_set signals(impl_->control, SIGTERM, SIGINT);
    signals.async_wait([this](boost::system::error_code ec, int sig) {
        if (ec)
            return;
        log_event(severity::info, std::string("received ") + (sig == SIGTERM ? "SIGTERM" : "SIGINT") +
                                      ", stopping");
        impl_->control.stop();
    });
    impl_->start_threads();
    impl_->control.run();
    impl_->stop();
    log_event(severity::info, "stopped");
    return 0;
}

}  // namespace sluice::proxy
