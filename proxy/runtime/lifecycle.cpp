// Signals: SIGHUP reloads the config file; SIGTERM/SIGINT drain and stop (a second one exits at
// once). Everything here runs on the control thread.
#include "proxy/runtime/runtime_impl.hpp"

#include "config/config_diff.hpp"
#include "config/loader.hpp"
#include "config/timeout_chain.hpp"
#include "proxy/log/event_log.hpp"
#include "proxy/runtime/systemd_notify.hpp"

#include <boost/asio/post.hpp>

namespace sluice::proxy {

void runtime::impl::on_signal(int sig)
{
    if (sig == SIGHUP) {
        if (!draining) reload("SIGHUP");
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
        if (!ec) stop_accepting();
    });
}

void runtime::impl::stop_accepting()
{
    for (auto& l : listeners) l->stop();
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

void runtime::impl::wait_for_connections(clock::time_point deadline)
{
    const auto open = open_connections();
    if (open == 0) {
        log_event(severity::info, "drained: every connection has closed");
        control.stop();
        return;
    }
    if (clock::now() >= deadline) {
        if (refused_waiting) {
            log_event(severity::warning, std::to_string(open) +
                                             " client connection(s) still open at timeouts.drain "
                                             "with requests in flight; closing them");
            control.stop();
            return;
        }
        // Requests still queued get a 503 and a log line rather than a cut connection; a short
        // grace lets those answers go out.
        refused_waiting = true;
        for (const auto& b : current->backends) b.runtime->slots().refuse_waiting();
        deadline = clock::now() + std::chrono::milliseconds(250);
    }
    drain_timer.expires_after(std::chrono::milliseconds(20));
    drain_timer.async_wait([this, deadline](boost::system::error_code ec) {
        if (!ec) wait_for_connections(deadline);
    });
}

namespace {

// Settings a reload cannot apply without a restart: said in the log, not half-applied.
void warn_restart_only(const config::root& old_cfg, const config::root& new_cfg)
{
    if (old_cfg.threads != new_cfg.threads)
        log_event(severity::warning, "reload: `threads` changed; it takes effect after a restart");
    if (old_cfg.io_uring != new_cfg.io_uring)
        log_event(severity::warning, "reload: `io_uring` changed; it takes effect after a restart");
    if (old_cfg.splice != new_cfg.splice)
        log_event(severity::warning, "reload: `splice` changed; it takes effect after a restart");
    if (old_cfg.admin.bind.text != new_cfg.admin.bind.text)
        log_event(severity::warning,
                  "reload: `admin.bind` changed; it takes effect after a restart");
    if (old_cfg.access_log.type != new_cfg.access_log.type ||
        old_cfg.access_log.path != new_cfg.access_log.path)
        log_event(severity::warning,
                  "reload: `access_log` changed; it takes effect after a restart");
}

}  // namespace

// A listener that keeps its name and address keeps its socket, so no connection is refused
// during a reload. New ones are bound first: if one cannot be, the reload fails with nothing
// changed. Returns, per listener of `cfg`, the old listener's index or a newly bound listener.
std::vector<runtime::impl::listener_plan> runtime::impl::plan_listeners(const config::root& cfg)
{
    std::vector<worker*> raw;
    for (auto& w : workers) raw.push_back(w.get());
    std::vector<listener_plan> plan;
    for (std::size_t i = 0; i < cfg.listeners.size(); ++i) {
        const auto& l = cfg.listeners[i];
        listener_plan p;
        for (std::size_t j = 0; j < listeners.size(); ++j)
            if (current->config.listeners[j].name == l.name &&
                listeners[j]->bind_text() == l.bind.text)
                p.keep = j;
        if (!p.keep) {
            p.bound = std::make_unique<listener>(workers[i % workers.size()]->io, l, raw);
            log_event(severity::info,
                      "listener " + l.name + " listening on " + p.bound->local_address());
        }
        plan.push_back(std::move(p));
    }
    return plan;
}

void runtime::impl::apply_listeners(std::vector<listener_plan> plan, const config::root& cfg)
{
    std::vector<std::unique_ptr<listener>> next;
    {
        std::lock_guard lock(state_mutex);
        for (auto& p : plan)
            next.push_back(p.keep ? std::move(listeners[*p.keep]) : std::move(p.bound));
        for (auto& gone : listeners)
            if (gone) gone->stop();  // left the config, or moved to another address
        listeners = std::move(next);
    }
    for (std::size_t i = 0; i < listeners.size(); ++i) {
        listeners[i]->update(cfg.listeners[i]);
        listeners[i]->start();
    }
}

// As at start-up: the timeout chain's findings are logged, and an error refuses the new config
// (the old one keeps serving) unless the process was started with --allow-chain-errors.
// Returns the errors that refuse it (empty when it may be applied).
std::vector<std::string> runtime::impl::chain_refusal(const config::root& cfg) const
{
    using level = config::finding::severity;
    const auto report = config::analyze_timeouts(cfg);
    std::vector<std::string> errors;
    for (const auto& f : report.findings) {
        log_event(f.level == level::error ? severity::error : severity::warning,
                  "reload: " + config::log_line(f));
        if (f.level == level::error) errors.push_back(config::log_line(f));
    }
    if (errors.empty()) return {};
    const auto n = std::to_string(errors.size()) + " error(s)";
    if (allow_chain_errors) {
        log_event(severity::warning,
                  "reload: applying despite " + n + " in the timeout chain (--allow-chain-errors)");
        return {};
    }
    log_event(severity::error, "reload failed: the timeout chain has " + n +
                                   " (above, each with its fix); still serving the previous "
                                   "config");
    return errors;
}

// The one reload path, for SIGHUP and POST /reload alike; `asked_by` names who asked, for the log.
reload_result runtime::impl::reload(const std::string& asked_by)
{
    notify_systemd("RELOADING=1");
    reload_result result;
    bool said = false;  // the failure is in the log already
    try {
        auto loaded = config::load_file(config_path);
        for (const auto& w : loaded.warnings) log_event(severity::warning, "reload: " + w);
        result.errors = chain_refusal(loaded.config);
        said = !result.errors.empty();
        if (result.errors.empty()) {
            add_discovered(loaded.config);
            warn_restart_only(current->config, loaded.config);
            result.changes = config::describe_changes(current->config, loaded.config);
            auto plan = plan_listeners(loaded.config);
            auto next = std::make_shared<const snapshot>(std::move(loaded.config), thread_count,
                                                         current.get());
            apply_listeners(std::move(plan), next->config);
            publish_snapshot(next);
            apply_peers(peer_count);  // new backends take this instance's share at once
            watch_peers(next->config);
            watch_discovery(next->config);
            checker.set_targets(check_targets(*next));
            warn_admin_exposure(next->config);
            result.ok = true;
        }
    } catch (const config::config_error& e) {
        result.errors = e.errors();
    } catch (const std::exception& e) {
        result.errors = {e.what()};
    }
    metrics.config_reload(result.ok);
    if (result.ok) {
        std::string what;
        for (const auto& c : result.changes) what += (what.empty() ? "" : "; ") + c;
        log_event(severity::info, "reloaded " + config_path + " (" + asked_by +
                                      "): " + (what.empty() ? "no change" : what));
    } else if (!said) {
        for (const auto& line : result.errors) log_event(severity::error, "reload: " + line);
        log_event(severity::error,
                  "reload failed; still serving the previous config (" + asked_by + ")");
    }
    notify_systemd("READY=1");
    return result;
}

}  // namespace sluice::proxy
