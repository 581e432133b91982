// Servers found by DNS (SPEC.md "Servers found by DNS"). Each backend with discovery has a
// dns_watch whose answers reach the control thread, where reloads run too, so an answer and a
// reload never cross. A change of servers becomes a new snapshot built from the running config,
// as a reload builds one from the file: the request path, the checks and /status then keep one
// list of servers per snapshot, and backend_runtime::reconcile adds, keeps and retires servers
// the same way for both.

#include "proxy/runtime/runtime_impl.hpp"

#include "proxy/backend/discovered_servers.hpp"
#include "proxy/log/event_log.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>

namespace sluice::proxy {

bool same_resolvers(const std::vector<config::endpoint>& a, const std::vector<config::endpoint>& b)
{
    return std::ranges::equal(a, b, {}, &config::endpoint::text, &config::endpoint::text);
}

bool same_question(const config::discovery& a, const config::discovery& b)
{
    return a.dns == b.dns && a.port == b.port && a.srv == b.srv && a.interval == b.interval &&
           a.timeout == b.timeout && same_resolvers(a.resolvers, b.resolvers);
}

namespace {

std::string asked(const discovered_backend& d)
{
    return d.config.srv.empty() ? d.config.dns : d.config.srv;
}

std::string names(const std::vector<discovered_server>& servers)
{
    std::string out;
    for (const auto& s : servers) out += (out.empty() ? "" : ", ") + s.name;
    return out;
}

// Once per change of outcome, not at every interval of a name server that stays down.
void log_outcome(const std::string& backend, discovered_backend& d, const membership_change& c)
{
    const std::string outcome = c.failure ? std::string(to_string(*c.failure)) : "ok";
    if (outcome == d.last_outcome) return;
    const auto where = "backend " + backend + ": discovery of " + asked(d);
    const auto kept = std::to_string(d.members.servers().size());
    if (c.failure)
        log_event(
            severity::warning,
            where + " failed (" + outcome + "); keeping the " + kept + " server(s) found before" +
                (d.members.servers().empty() ? ", so requests queue up to timeouts.queue" : ""));
    else if (!d.last_outcome.empty())
        log_event(severity::info, where + " answers again");
    d.last_outcome = outcome;
}

void log_changes(const std::string& backend, const discovered_backend& d,
                 const membership_change& c)
{
    const auto where = "backend " + backend + ": discovery of " + asked(d);
    const auto now = " (" + std::to_string(d.members.servers().size()) + " server(s) now)";
    if (!c.added.empty()) log_event(severity::info, where + " found " + names(c.added) + now);
    if (!c.retired.empty())
        log_event(severity::info, where + " no longer names " + names(c.retired) +
                                      ": no new requests go there; those in flight finish" + now);
    if (c.reweighted) log_event(severity::info, where + " gave new SRV weights");
    if (c.over_max_servers)
        log_event(severity::warning, where + ": " + std::to_string(c.over_max_servers) +
                                         " address(es) left out, over max_servers (" +
                                         std::to_string(d.config.max_servers) + ")");
}

}  // namespace

// Starts, restarts or stops each backend's watch for `cfg` (at start and after each reload). A
// watch whose question is unchanged keeps running; a changed one starts over but keeps the
// servers found so far until its first answer.
void runtime::impl::watch_discovery(const config::root& cfg)
{
    std::erase_if(discovered, [&](const auto& entry) {
        const auto* b = cfg.find_backend(entry.first);
        return !b || !b->discovery;
    });
    for (const auto& b : cfg.backends) {
        if (!b.discovery) continue;
        auto& d = discovered.try_emplace(b.name, *b.discovery).first->second;
        d.members.set_max_servers(b.discovery->max_servers);
        if (d.watch && same_question(d.config, *b.discovery)) continue;
        d.config = *b.discovery;
        d.watch.reset();
        d.generation = ++discovery_generation;
        const auto interval = std::chrono::duration_cast<std::chrono::milliseconds>(
            d.config.interval);
        d.watch = std::make_unique<dns_watch>(net::query_for(d.config), interval,
                                              [this, name = b.name, generation = d.generation](
                                                  const net::resolve_answer& a) {
                                                  asio::post(control, [this, name, generation, a] {
                                                      on_discovery_answer(name, generation, a);
                                                  });
                                              });
    }
}

// A reload keeps what discovery found: each backend with discovery gets the servers known so far,
// made from the new config's server_defaults.
void runtime::impl::add_discovered(config::root& cfg) const
{
    for (auto& b : cfg.backends) {
        if (!b.discovery) continue;
        const auto it = discovered.find(b.name);
        b.servers = with_discovered(b, it != discovered.end() ? it->second.members.servers()
                                                              : std::vector<discovered_server>{});
    }
}

void runtime::impl::on_discovery_answer(const std::string& backend, unsigned generation,
                                        const net::resolve_answer& answer)
{
    const auto it = discovered.find(backend);
    if (it == discovered.end() || it->second.generation != generation) return;
    auto& d = it->second;
    const auto change = d.members.apply(answer);
    if (change.failure) metrics.discovery_error(backend, to_string(*change.failure));
    log_outcome(backend, d, change);
    if (!change.changed() && !d.pending) return;
    log_changes(backend, d, change);
    d.pending = !apply_discovered(backend);
}

// The running config with the servers found now, as the next snapshot. The listeners stay as
// they are: an answer must not reread certificates behind the operator's back.
bool runtime::impl::apply_discovered(const std::string& backend)
{
    try {
        auto cfg = current->config;
        add_discovered(cfg);
        auto next = std::make_shared<const snapshot>(std::move(cfg), thread_count, current.get(),
                                                     snapshot::listeners_from::previous);
        publish_snapshot(next);
        checker.set_targets(check_targets(*next));
        return true;
    } catch (const std::exception& e) {
        log_event(severity::error, "backend " + backend +
                                       ": the servers discovery found could not be applied (" +
                                       e.what() +
                                       "); the previous ones still serve; trying again at the "
                                       "next answer");
        return false;
    }
}

}  // namespace sluice::proxy
