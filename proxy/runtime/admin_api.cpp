// The admin API's POSTs (SPEC.md "Admin API and status page"), on the admin thread. A state or
// weight change takes one backend's lock for a slot-table update, as a check result does; a
// reload is posted to the control thread, which runs the same path as SIGHUP and answers from
// there. Every change and every refused POST is one line in the event log naming the peer.
#include "proxy/runtime/runtime_impl.hpp"

#include "config/admin_rules.hpp"
#include "proxy/log/access_record.hpp"
#include "proxy/log/event_log.hpp"

#include <boost/asio/post.hpp>

namespace sluice::proxy {

namespace {

using admin::admin_reply;

std::string error_json(std::string_view what)
{
    std::string out = "{\"error\":";
    append_json_string(out, what);
    return out + "}\n";
}

// {"reloaded":true,"changes":[...]} or {"reloaded":false,"errors":[...]}
std::string reload_json(const reload_result& r)
{
    std::string out = r.ok ? "{\"reloaded\":true,\"changes\":["
                           : "{\"reloaded\":false,\"errors\":[";
    const auto& lines = r.ok ? r.changes : r.errors;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        if (i) out += ',';
        append_json_string(out, lines[i]);
    }
    return out + "]}\n";
}

}  // namespace

void runtime::impl::on_admin_post(admin::admin_request req, std::function<void(admin_reply)> done)
{
    std::string token;
    {
        std::lock_guard lock(state_mutex);
        token = current->config.admin.token;
    }
    const auto verdict = admin::authorize_post(token, admin_bind, req.authorization);
    const auto target = admin::parse_post_target(req.target);
    if (verdict.status != 0) {
        log_event(severity::warning, "admin API: " + req.peer + " POST " + req.target +
                                         " refused (" + std::to_string(verdict.status) +
                                         "): " + verdict.reason);
        return done({verdict.status, error_json(verdict.reason)});
    }
    if (target->what != admin::post_target::kind::reload)
        return done(on_server_change(req, *target));
    const auto asked_by = "admin API from " + req.peer;
    asio::post(control, [this, asked_by, done = std::move(done)] {
        const auto result = reload(asked_by);
        done({result.ok ? 200u : 400u, reload_json(result)});
    });
}

admin_reply runtime::impl::on_server_change(const admin::admin_request& req,
                                            const admin::post_target& target)
{
    const bool state = target.what == admin::post_target::kind::state;
    const auto parsed = state ? health::parse_state_body(req.body)
                              : health::parse_weight_body(req.body);
    if (!parsed.change) return {400, error_json(parsed.error)};
    std::lock_guard lock(state_mutex);  // keeps the snapshot as it is while it is read
    const auto* b = current->find_backend(target.backend);
    if (!b) return {404, error_json("no backend is named \"" + target.backend + "\"")};
    // The snapshot read here names the server before anything changes: the runtime may already
    // have dropped or added one (a reload or a discovery answer since).
    const auto& servers = b->config->servers;
    std::size_t position = 0;
    while (position < servers.size() && servers[position].name != target.server) ++position;
    const auto outcome = position < servers.size()
                             ? b->runtime->health().on_api(target.server, *parsed.change)
                             : std::nullopt;
    if (!outcome)
        return {404, error_json("backend " + target.backend + " has no server named \"" +
                                target.server + "\"")};
    const auto where = target.backend + "/" + target.server;
    std::string line = "admin API: " + req.peer + " set " + where + " " +
                       (state ? "state " : "weight ") + health::describe(*parsed.change) + ": " +
                       std::string(to_string(outcome->from)) + " -> " +
                       std::string(to_string(outcome->to));
    if (!outcome->override_text.empty()) line += " (the API holds: " + outcome->override_text + ")";
    log_event(severity::info, line);
    return {200, server_json(*b, position, outcome->index)};
}

void runtime::impl::warn_admin_exposure(const config::root& cfg) const
{
    auto effective = cfg;
    effective.admin.bind = admin_bind;
    if (auto problem = config::admin_exposure(effective))
        log_event(severity::warning, *problem + " (GET endpoints still answer)");
}

}  // namespace sluice::proxy
