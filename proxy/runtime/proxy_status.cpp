#include "proxy/runtime/proxy_status.hpp"

#include "net/tls_server_context.hpp"

#include "proxy/log/access_record.hpp"
#include "proxy/runtime/listener.hpp"

#include <cstdio>

namespace sluice::proxy {

namespace {

void append_pair(std::string& out, std::string_view key, std::string_view value, bool first = false)
{
    if (!first) out += ',';
    append_json_string(out, key);
    out += ':';
    append_json_string(out, value);
}

void append_number(std::string& out, std::string_view key, std::uint64_t value)
{
    out += ',';
    append_json_string(out, key);
    out += ':';
    out += std::to_string(value);
}

// A figure that may be unknown: null, or the number with up to 3 decimals.
void append_optional(std::string& out, std::string_view key, std::optional<double> value)
{
    out += ',';
    append_json_string(out, key);
    if (!value) {
        out += ":null";
        return;
    }
    char text[32];
    std::snprintf(text, sizeof text, ":%.3f", *value);
    std::string_view t = text;
    while (t.back() == '0') t.remove_suffix(1);  // 2.500 -> 2.5, 3.000 -> 3
    if (t.back() == '.') t.remove_suffix(1);
    out += t;
}

void append_server(std::string& out, const backend_view& b, std::size_t position,
                   std::size_t record)
{
    const auto& s = b.config->servers[position];
    const auto r = b.runtime->report(record);
    out += '{';
    append_pair(out, "name", s.name, true);
    append_pair(out, "address", s.address.text);
    append_pair(out, "source", s.discovered ? "dns" : "static");
    append_pair(out, "state", r.state);
    append_pair(out, "state_set_by", r.set_by);
    if (r.api_override.empty())
        out += ",\"api_override\":null";
    else
        append_pair(out, "api_override", r.api_override);
    append_number(out, "in_flight", r.in_flight);
    append_number(out, "max_connections", r.max_connections);
    append_number(out, "weight", s.weight);
    append_optional(out, "effective_weight", r.weight);
    append_pair(out, "last_check", r.last_check);
    append_optional(out, "last_check_age_s", r.last_check_age_s);
    append_number(out, "requests_1m", r.last_minute.answered + r.last_minute.failed);
    append_number(out, "errors_1m", r.last_minute.failed);
    out += '}';
}

void append_backend(std::string& out, const backend_view& b)
{
    auto& rt = *b.runtime;
    const auto waits = rt.stats().queue_wait_last_minute(clock::now());
    out += '{';
    append_pair(out, "name", b.config->name, true);
    append_number(out, "queue_length", rt.slots().queue_length());
    append_number(out, "queue_max_length", b.config->queue_max_length);
    append_number(out, "free_slots", rt.slots().free_slots());
    append_number(out, "queued_1m", waits.requests);
    append_optional(out, "queue_wait_p50_ms", waits.p50_ms);
    append_optional(out, "queue_wait_p99_ms", waits.p99_ms);
    out += ",\"servers\":[";
    const auto active = rt.active_servers();
    for (std::size_t i = 0; i < active.size() && i < b.config->servers.size(); ++i) {
        if (i) out += ',';
        append_server(out, b, i, active[i]);
    }
    out += "]}";
}

}  // namespace

health::gauge_snapshot collect_gauges(const status_inputs& in)
{
    health::gauge_snapshot g;
    g.busy = in.busy;
    g.scale_out_peers = in.peers;
    for (const auto& b : in.snap.backends) {
        g.queue_lengths.emplace_back(b.config->name, b.runtime->slots().queue_length());
        if (b.config->discovery)
            g.discovery_servers.emplace_back(b.config->name,
                                             std::ranges::count_if(b.config->servers,
                                                                   &config::server::discovered));
        const auto active = b.runtime->active_servers();
        for (std::size_t i = 0; i < active.size(); ++i) {
            const auto r = b.runtime->report(active[i]);
            g.servers.push_back({b.config->name, b.runtime->server(active[i]).name, r.state,
                                 r.in_flight, r.max_connections});
        }
    }
    for (std::size_t i = 0; i < in.listeners.size(); ++i)
        g.client_connections.emplace_back(in.snap.config.listeners[i].name,
                                          in.listeners[i]->open_connections());
    for (const auto& l : in.snap.listeners) {
        if (!l.tls) continue;
        for (const auto& c : l.tls->certificates())
            g.certificates.push_back(
                {l.config->name, c.file,
                 std::chrono::duration<double>(c.not_after.time_since_epoch()).count()});
    }
    return g;
}

std::string server_json(const backend_view& b, std::size_t position, std::size_t record)
{
    std::string out;
    append_server(out, b, position, record);
    return out + "\n";
}

std::string status_json(const status_inputs& in)
{
    std::string out = "{";
    append_pair(out, "signal", in.draining ? "draining" : in.busy ? "busy" : "free", true);
    out += ",\"scale_out_peers\":" + std::to_string(in.peers);
    append_pair(out, "config", in.snap.config.source);
    append_pair(out, "admin_post", in.admin_post);
    out += ",\"listeners\":[";
    for (std::size_t i = 0; i < in.listeners.size(); ++i) {
        out += i ? ",{" : "{";
        append_pair(out, "name", in.snap.config.listeners[i].name, true);
        append_pair(out, "bind", in.listeners[i]->local_address());
        append_number(out, "connections", in.listeners[i]->open_connections());
        append_number(out, "max_connections", in.snap.config.listeners[i].max_connections);
        out += '}';
    }
    out += "],\"backends\":[";
    for (std::size_t i = 0; i < in.snap.backends.size(); ++i) {
        if (i) out += ',';
        append_backend(out, in.snap.backends[i]);
    }
    out += "]}\n";
    return out;
}

std::pair<bool, std::string> readiness(const snapshot& snap)
{
    for (const auto& b : snap.backends)
        if (!b.runtime->health().has_server_up())
            return {false, "backend " + b.config->name + " has no server up"};
    return {true, "ready"};
}

}  // namespace sluice::proxy
