#include "proxy/runtime/runtime_impl.hpp"

#include "config/admin_rules.hpp"
#include "net/proxy_protocol.hpp"
#include "net/thread_signals.hpp"
#include "proxy/http/check_request.hpp"
#include "proxy/log/event_log.hpp"
#include "proxy/runtime/systemd_notify.hpp"
#include "proxy/session/client_session.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>

namespace sluice::proxy {

namespace {

unsigned threads_for(const config::root& cfg)
{
    if (cfg.threads > 0) return cfg.threads;
    return std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace

runtime::impl::impl(config::root cfg, std::string path)
    : config_path(std::move(path)), thread_count(threads_for(cfg))
{
    const unsigned n = thread_count;
    log = access_log::open(cfg.access_log);
    current = std::make_shared<const snapshot>(std::move(cfg), n);
    peers_answered.store(!current->config.scale_out.peers);
    std::vector<worker*> raw;
    for (unsigned i = 0; i < n; ++i) {
        workers.push_back(std::make_unique<worker>(i, log.get(), metrics.add_shard(),
                                                   &resume_idle_client, current->config.io_uring,
                                                   current->config.splice));
        workers.back()->current = current;
        raw.push_back(workers.back().get());
    }
    for (auto& w : workers) w->siblings = raw;
    if (const auto& ring = workers.front()->ring; ring.on())
        log_event(severity::info,
                  "io_uring: reads and sends on plain sockets are batched, one system call a turn");
    else if (current->config.io_uring)
        log_event(severity::warning, "io_uring: auto, but " + ring.why_off() +
                                         "; each read and send is its own system call");
    if (const auto& pipes = workers.front()->pipes; pipes.on())
        log_event(severity::info, "splice: large bodies between plain sockets pass through pipes");
    else if (current->config.splice)
        log_event(severity::warning, "splice: auto, but " + pipes.why_off() +
                                         "; every body passes through the proxy's buffers");
    const auto& ls = current->config.listeners;
    for (std::size_t i = 0; i < ls.size(); ++i) {
        listeners.push_back(std::make_unique<listener>(workers[i % n]->io, ls[i], raw));
        log_event(severity::info,
                  "listener " + ls[i].name + " listening on " + listeners.back()->local_address());
    }
    monitor = std::make_unique<runtime_monitor>(
        control, raw, metrics, current->config.admin.busy_hold, [this] { return raw_busy(); });
    admin_bind = current->config.admin.bind;
    admin = std::make_unique<admin::admin_server>(admin_bind, admin_sources());
    log_event(severity::info, "admin listening on " + admin->local_address());
    warn_admin_exposure(current->config);
}

// Per backend: idle slots of one backend cannot serve another's queue, so a saturated backend
// makes the proxy busy however idle the others are.
bool runtime::impl::raw_busy() const
{
    bool at_limit = false;
    for (const auto& l : listeners) at_limit = at_limit || l->at_limit();
    if (at_limit) return true;
    for (const auto& b : current->backends)
        if (health::raw_busy(b.runtime->slots().queue_length(), b.runtime->slots().free_slots(),
                             false))
            return true;
    return false;
}

admin::admin_sources runtime::impl::admin_sources()
{
    // These run on the admin thread; see runtime_impl.hpp for why they lock.
    auto inputs = [this] {
        const auto post = !current->config.admin.token.empty() ? "token"
                          : config::local_only(admin_bind)     ? "open"
                                                               : "refused";
        return status_inputs{*current, listeners,        monitor->busy(), monitor->draining(),
                             post,     peer_count.load()};
    };
    return {&monitor->signal(),
            [this] { return monitor->live(); },
            [this] {
                std::lock_guard lock(state_mutex);
                if (!peers_answered.load() && current->config.scale_out.peers)
                    return std::pair<bool, std::string>{
                        false, "scale_out.peers: no answer yet for " +
                                   current->config.scale_out.peers->dns +
                                   ", so this instance's share is not known"};
                return readiness(*current);
            },
            [this, inputs] {
                std::lock_guard lock(state_mutex);
                return metrics.scrape(collect_gauges(inputs()));
            },
            [this, inputs] {
                std::lock_guard lock(state_mutex);
                return status_json(inputs());
            },
            [this](admin::admin_request req, std::function<void(admin::admin_reply)> done) {
                on_admin_post(std::move(req), std::move(done));
            }};
}

void runtime::impl::start_threads()
{
    for (auto& w : workers) guards.push_back(asio::make_work_guard(w->io));
    for (auto& l : listeners) l->start();
    for (auto& w : workers)
        threads.push_back(net::thread_without_stop_signals([&io = w->io] { io.run(); }));
    monitor->start();
    admin->start();
    checker.start();
    checker.set_targets(check_targets(*current));
    watch_peers(current->config);
    watch_discovery(current->config);
    schedule_pool_pruning();
    schedule_health_ticks();
}

std::uint64_t runtime::impl::open_connections() const
{
    std::uint64_t open = 0;
    for (const auto& l : listeners) open += l->open_connections();
    return open;
}

// Each worker takes the new snapshot for its next requests; requests under way keep theirs.
// A backend the new config drops has its pooled connections closed by the thread that owns
// each of them: whichever thread drops the last reference to the backend must find none left.
void runtime::impl::publish_snapshot(std::shared_ptr<const snapshot> next)
{
    std::vector<std::shared_ptr<backend_runtime>> dropped;
    {
        std::lock_guard lock(state_mutex);
        if (current)
            for (const auto& b : current->backends)
                if (std::none_of(next->backends.begin(), next->backends.end(),
                                 [&](const backend_view& n) { return n.runtime == b.runtime; }))
                    dropped.push_back(b.runtime);
        current = next;
    }
    for (const auto& b : dropped) b->retire();
    for (auto& w : workers)
        asio::post(w->io, [&w = *w, next, dropped] {
            for (const auto& b : dropped) b->clear_pools(w.index);
            w.current = next;
        });
}

// Idle pooled connections past idle_timeout are closed every second, so they hold no descriptor
// (and the server never finds a half-dead socket of ours to complain about).
void runtime::impl::schedule_pool_pruning()
{
    prune_timer.expires_after(std::chrono::seconds(1));
    prune_timer.async_wait([this](boost::system::error_code ec) {
        if (ec) return;
        for (auto& w : workers)
            asio::post(w->io, [&w = *w] {
                for (const auto& b : w.current->backends)
                    b.runtime->prune_pools(w.index, b.config->keepalive.idle_timeout);
            });
        schedule_pool_pruning();
    });
}

// Ejections end and slow-start ramps move on between checks too.
void runtime::impl::schedule_health_ticks()
{
    health_timer.expires_after(std::chrono::milliseconds(100));
    health_timer.async_wait([this](boost::system::error_code ec) {
        if (ec) return;
        for (const auto& b : current->backends) b.runtime->tick();
        schedule_health_ticks();
    });
}

// One target per server of each backend with checks; the callbacks run on the checker thread.
std::vector<health::check_target> runtime::impl::check_targets(const snapshot& snap)
{
    std::vector<health::check_target> targets;
    for (const auto& b : snap.backends) {
        if (!b.config->health) continue;
        const auto& h = *b.config->health;
        const auto active = b.runtime->active_servers();
        for (std::size_t i = 0; i < active.size(); ++i) {
            const auto& s = b.config->servers[i];
            health::check_target t{b.config->name, s.name, s.address, b.config->protocol, h};
            if (h.http) {
                auto request = make_check_request(*h.http, s.address, b.config->protocol);
                t.request = std::move(request.bytes);
                t.request_error = std::move(request.error);
            }
            t.agent_port = s.agent_port ? s.agent_port : h.agent_port;
            t.tls = b.runtime->server(active[i]).tls.load();
            if (s.proxy_protocol != config::proxy_protocol::off) {
                net::proxy_header local;
                local.local = true;
                t.proxy_header = net::write_proxy_header(local, s.proxy_protocol ==
                                                                    config::proxy_protocol::v2);
            }
            t.busy_window = health::busy_window(h, snap.config.timeouts.server, s.worker_timeout);
            report_to(t, b.runtime, active[i]);
            targets.push_back(std::move(t));
        }
    }
    return targets;
}

// Wires a target's results to the server's record at `index` and to the metrics.
void runtime::impl::report_to(health::check_target& t, std::shared_ptr<backend_runtime> rt,
                              std::size_t index)
{
    auto last_problem = std::make_shared<std::string>();
    const auto where = t.backend + "/" + t.server;
    t.activity = [rt, index] { return rt->health().activity(index); };
    t.on_check = [rt, index](const health::check_result& r) { rt->health().on_check(index, r); };
    t.on_agent = [rt, index, last_problem](const health::agent_reply& r) {
        last_problem->clear();
        rt->health().on_agent(index, r);
    };
    t.on_agent_problem = [rt, index, last_problem, where](const health::agent_problem& p) {
        if (p.what == health::agent_problem::kind::unreachable)
            rt->health().on_agent_unreachable(index);
        if (*last_problem != p.text)  // said once, not every interval
            log_event(severity::warning, "server " + where + ": " + p.text);
        *last_problem = p.text;
    };
    t.on_measured = [this, backend = t.backend, server = t.server](std::string_view result,
                                                                   double seconds) {
        check_metrics.health_check(backend, server, result, seconds);
    };
}

void runtime::impl::stop()
{
    discovered.clear();  // joins the watches' threads: none posts to `control` after this
    peers.reset();
    checker.stop();
    health_timer.cancel();
    prune_timer.cancel();
    monitor->stop();
    admin->stop();
    for (auto& l : listeners) l->stop();
    for (auto& w : workers) asio::post(w->io, [&w = *w] { w.sweeper.stop(); });
    guards.clear();
    for (auto& w : workers) w->io.stop();
    for (auto& t : threads) t.join();
    // Connections belong to the workers' io_contexts and sweepers, so they must go first:
    // sessions unwind (and may return a connection to a pool), then the pools are emptied.
    for (auto& w : workers) w->shut_down();
    for (const auto& b : current->backends) b.runtime->close_pools();
}

runtime::runtime(config::root cfg, std::string config_path, bool allow_chain_errors)
    : impl_(std::make_unique<impl>(std::move(cfg), std::move(config_path)))
{
    impl_->allow_chain_errors = allow_chain_errors;
}

runtime::~runtime() = default;

int runtime::run()
{
    impl_->signals.start([this](int sig) { impl_->on_signal(sig); });
    impl_->start_threads();
    notify_systemd("READY=1");
    impl_->control.run();
    impl_->stop();
    log_event(severity::info, "stopped");
    return 0;
}

}  // namespace sluice::proxy
