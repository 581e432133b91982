#include "config/loader.hpp"

#include "config/admin_rules.hpp"
#include "config/loader_discovery.hpp"
#include "config/loader_tls.hpp"
#include "config/yaml_reader.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <set>
#include <sstream>

namespace sluice::config {
namespace {

using namespace yaml;

char lower(unsigned char c) { return static_cast<char>(std::tolower(c)); }
char upper(unsigned char c) { return static_cast<char>(std::toupper(c)); }

// The tables below are the YAML schema: one row per key, nested objects read by their own table.

const field<limits> limits_fields[] = {
    {"max_header", [](auto& r, auto& n, auto& p, auto& l) { r.size(n, p, l.max_header); }},
    {"max_body", [](auto& r, auto& n, auto& p, auto& l) { r.size(n, p, l.max_body); }},
};

const field<route_match> match_fields[] = {
    {"path_prefix", [](auto& r, auto& n, auto& p, auto& m) { r.text(n, p, m.path_prefix); }},
    {"host",
     [](auto& r, auto& n, auto& p, auto& m) {
         if (r.text(n, p, m.host)) std::ranges::transform(m.host, m.host.begin(), lower);
     }},
    {"method",
     [](auto& r, auto& n, auto& p, auto& m) {
         if (r.text(n, p, m.method)) std::ranges::transform(m.method, m.method.begin(), upper);
     }},
};

const field<route> route_fields[] = {
    {"match", [](auto& r, auto& n, auto& p, auto& x) { read_map(r, n, p, match_fields, x.match); }},
    {"backend", [](auto& r, auto& n, auto& p, auto& x) { r.text(n, p, x.backend); }},
    {"timeouts",
     [](auto& r, auto& n, auto& p, auto& x) {
         read_timeouts(r, n, p, x.timeouts, &timeout_field::override_value);
     }},
};

// A list of address ranges (one range alone is a list of one).
void read_cidrs(reader& r, const node& n, const std::string& path, std::vector<cidr>& out)
{
    std::vector<cidr> ranges;
    const auto read_one = [&](const node& item, const std::string& p) {
        std::string text;
        if (!r.text(item, p, text)) return;
        if (const auto c = parse_cidr(text))
            ranges.push_back(*c);
        else
            r.error(item, p,
                    "\"" + text +
                        "\" is not an address range; expected e.g. 10.0.0.0/8, "
                        "2001:db8::/32 or one address, with no bits set past the /N");
    };
    if (n.IsScalar())
        read_one(n, path);
    else
        walk_list(r, n, path, read_one);
    out = std::move(ranges);
}

const field<listener> listener_fields[] = {
    {"name", [](auto& r, auto& n, auto& p, auto& l) { r.text(n, p, l.name); }},
    {"bind", [](auto& r, auto& n, auto& p, auto& l) { r.address(n, p, l.bind); }},
    {"max_connections",
     [](auto& r, auto& n, auto& p, auto& l) { r.whole(n, p, l.max_connections); }},
    {"limits",
     [](auto& r, auto& n, auto& p, auto& l) { read_map(r, n, p, limits_fields, l.limits); }},
    {"routes",
     [](auto& r, auto& n, auto& p, auto& l) {
         read_items(r, n, p, route_fields, l.routes, {{"backend", "backend: app"}});
     }},
    {"default_backend",
     [](auto& r, auto& n, auto& p, auto& l) { r.text(n, p, l.default_backend); }},
    {"trusted_proxies",
     [](auto& r, auto& n, auto& p, auto& l) { read_cidrs(r, n, p, l.trusted_proxies); }},
    {"proxy_protocol",
     [](auto& r, auto& n, auto& p, auto& l) { read_proxy_protocol(r, n, p, l.proxy_protocol); }},
    {"tls", read_listener_tls},
    {"defer_accept",
     [](auto& r, auto& n, auto& p, auto& l) { read_switch(r, n, p, l.defer_accept); }},
};

const field<admin> admin_fields[] = {
    {"bind", [](auto& r, auto& n, auto& p, auto& a) { r.address(n, p, a.bind); }},
    {"busy_hold", [](auto& r, auto& n, auto& p, auto& a) { r.time(n, p, a.busy_hold); }},
    {"drain_notice", [](auto& r, auto& n, auto& p, auto& a) { r.time(n, p, a.drain_notice); }},
    {"token_file", [](auto& r, auto& n, auto& p, auto& a) { r.text(n, p, a.token_file); }},
};

// The first `shared_server_keys` rows are the ones server_defaults may set as well.
constexpr std::size_t shared_server_keys = 6;
const field<server> server_fields[] = {
    {"weight", [](auto& r, auto& n, auto& p, auto& s) { r.whole(n, p, s.weight); }},
    {"max_connections",
     [](auto& r, auto& n, auto& p, auto& s) { r.whole(n, p, s.max_connections); }},
    {"keepalive_timeout",
     [](auto& r, auto& n, auto& p, auto& s) { r.time(n, p, s.keepalive_timeout); }},
    {"worker_timeout", [](auto& r, auto& n, auto& p, auto& s) { r.time(n, p, s.worker_timeout); }},
    {"tls", read_server_tls},
    {"proxy_protocol",
     [](auto& r, auto& n, auto& p, auto& s) { read_proxy_protocol(r, n, p, s.proxy_protocol); }},
    {"name", [](auto& r, auto& n, auto& p, auto& s) { r.text(n, p, s.name); }},
    {"address", [](auto& r, auto& n, auto& p, auto& s) { r.address(n, p, s.address); }},
    {"agent_port", [](auto& r, auto& n, auto& p, auto& s) { r.port(n, p, s.agent_port); }},
};

const field<health_http> http_check_fields[] = {
    {"method", [](auto& r, auto& n, auto& p, auto& h) { r.text(n, p, h.method); }},
    {"path", [](auto& r, auto& n, auto& p, auto& h) { r.text(n, p, h.path); }},
    {"expect_status",
     [](auto& r, auto& n, auto& p, auto& h) { read_statuses(r, n, p, h.expect_status); }},
    {"busy_status",
     [](auto& r, auto& n, auto& p, auto& h) { read_statuses(r, n, p, h.busy_status); }},
    {"host", [](auto& r, auto& n, auto& p, auto& h) { r.text(n, p, h.host); }},
};

const field<health> agent_fields[] = {
    {"port", [](auto& r, auto& n, auto& p, auto& h) { r.port(n, p, h.agent_port); }},
};

const field<health> health_fields[] = {
    {"http", [](auto& r, auto& n, auto& p,
                auto& h) { read_map(r, n, p, http_check_fields, h.http.emplace()); }},
    {"agent", [](auto& r, auto& n, auto& p, auto& h) { read_map(r, n, p, agent_fields, h); }},
    {"interval", [](auto& r, auto& n, auto& p, auto& h) { r.time(n, p, h.interval); }},
    {"jitter", [](auto& r, auto& n, auto& p, auto& h) { r.percent(n, p, h.jitter_percent); }},
    {"timeout", [](auto& r, auto& n, auto& p, auto& h) { r.time(n, p, h.timeout); }},
    {"rise", [](auto& r, auto& n, auto& p, auto& h) { r.whole(n, p, h.rise); }},
    {"fall", [](auto& r, auto& n, auto& p, auto& h) { r.whole(n, p, h.fall); }},
};

const field<passive> passive_fields[] = {
    {"consecutive_failures",
     [](auto& r, auto& n, auto& p, auto& x) { r.whole(n, p, x.consecutive_failures); }},
    {"ejection", [](auto& r, auto& n, auto& p, auto& x) { r.time(n, p, x.ejection); }},
    {"max_ejected",
     [](auto& r, auto& n, auto& p, auto& x) { r.percent(n, p, x.max_ejected_percent); }},
};

void read_retry_causes(reader& r, const node& n, const std::string& path, retries& out)
{
    enum class cause { connect_failure, empty_response };
    out.on_connect_failure = out.on_empty_response = false;
    walk_list(r, n, path, [&](const node& item, const std::string& p) {
        cause c{};
        if (!r.choice(item, p, c,
                      {{"connect_failure", cause::connect_failure},
                       {"empty_response", cause::empty_response}})) {
            return;
        }
        (c == cause::connect_failure ? out.on_connect_failure : out.on_empty_response) = true;
    });
}

const field<retries> retries_fields[] = {
    {"attempts", [](auto& r, auto& n, auto& p, auto& x) { r.whole(n, p, x.attempts); }},
    {"on", read_retry_causes},
};

const field<keepalive> keepalive_fields[] = {
    {"max_idle", [](auto& r, auto& n, auto& p, auto& k) { r.whole(n, p, k.max_idle); }},
    {"idle_timeout", [](auto& r, auto& n, auto& p, auto& k) { r.time(n, p, k.idle_timeout); }},
};

const field<buffering> buffering_fields[] = {
    {"request", [](auto& r, auto& n, auto& p, auto& b) { read_switch(r, n, p, b.request); }},
    {"response", [](auto& r, auto& n, auto& p, auto& b) { read_switch(r, n, p, b.response); }},
    {"memory", [](auto& r, auto& n, auto& p, auto& b) { r.size(n, p, b.memory); }},
    {"spool_dir", [](auto& r, auto& n, auto& p, auto& b) { r.text(n, p, b.spool_dir); }},
    {"max_spool", [](auto& r, auto& n, auto& p, auto& b) { r.size(n, p, b.max_spool); }},
};

const field<backend> queue_fields[] = {
    {"max_length", [](auto& r, auto& n, auto& p, auto& b) { r.whole(n, p, b.queue_max_length); }},
};

const field<backend> backend_fields[] = {
    {"name", [](auto& r, auto& n, auto& p, auto& b) { r.text(n, p, b.name); }},
    {"protocol",
     [](auto& r, auto& n, auto& p, auto& b) {
         r.choice(n, p, b.protocol, {{"http", protocol::http}, {"uwsgi", protocol::uwsgi}});
     }},
    {"balance",
     [](auto& r, auto& n, auto& p, auto& b) {
         r.choice(n, p, b.balance,
                  {{"roundrobin", balance::roundrobin},
                   {"leastconn", balance::leastconn},
                   {"random2", balance::random2}});
     }},
    {"queue", [](auto& r, auto& n, auto& p, auto& b) { read_map(r, n, p, queue_fields, b); }},
    {"retries",
     [](auto& r, auto& n, auto& p, auto& b) { read_map(r, n, p, retries_fields, b.retries); }},
    {"keepalive",
     [](auto& r, auto& n, auto& p, auto& b) { read_map(r, n, p, keepalive_fields, b.keepalive); }},
    {"server_defaults", nullptr},  // read with the servers they apply to, in read_backend
    {"servers", nullptr},
    {"discovery", read_discovery},
    {"health",
     [](auto& r, auto& n, auto& p, auto& b) {
         auto& h = b.health.emplace();
         h.mark = r.mark(n, p);
         read_map(r, n, p, health_fields, h);
     }},
    {"passive",
     [](auto& r, auto& n, auto& p, auto& b) { read_map(r, n, p, passive_fields, b.passive); }},
    {"slow_start", [](auto& r, auto& n, auto& p, auto& b) { r.time(n, p, b.slow_start); }},
    {"buffering",
     [](auto& r, auto& n, auto& p, auto& b) { read_map(r, n, p, buffering_fields, b.buffering); }},
    {"deadline_header",
     [](auto& r, auto& n, auto& p, auto& b) { r.text(n, p, b.deadline_header); }},
};

// server_defaults fill in what a server does not set itself. The mark moves with the value, so a
// finding about an inherited value points at the server_defaults line an operator has to edit.
void inherit_defaults(reader& r, const server& defaults, const std::string& defaults_path,
                      server& s)
{
    const auto inherit = [&](std::string_view key, auto member) {
        const auto own = s.mark.path + "." + std::string(key);
        const auto from = defaults_path + "." + std::string(key);
        if (r.declared(own) || !r.declared(from)) return;
        s.*member = defaults.*member;
        r.marks[own] = r.marks[from];
    };
    inherit("weight", &server::weight);
    inherit("max_connections", &server::max_connections);
    inherit("keepalive_timeout", &server::keepalive_timeout);
    inherit("worker_timeout", &server::worker_timeout);
    inherit("proxy_protocol", &server::proxy_protocol);
    inherit_server_tls(r, defaults, defaults_path, s);
    s.keepalive_timeout_declared = r.declared(s.mark.path + ".keepalive_timeout");
    if (!r.declared(s.mark.path + ".name")) s.name = s.address.text;
}

// The pool must drop an idle connection before the app server does, or the proxy reuses a socket
// the server is closing; undeclared, idle_timeout is 80 % of the shortest server keep-alive.
void resolve_idle_timeout(reader& r, backend& b)
{
    b.keepalive.idle_timeout_declared = r.declared(b.mark.path + ".keepalive.idle_timeout");
    if (b.keepalive.idle_timeout_declared) return;
    std::vector<duration> keepalives;
    for (const auto& s : b.servers) keepalives.push_back(s.keepalive_timeout);
    if (b.discovery) keepalives.push_back(b.server_defaults.keepalive_timeout);
    if (keepalives.empty()) return;
    b.keepalive.idle_timeout = std::ranges::min(keepalives) * 4 / 5;
}

// Buffering protects workers: undeclared, each direction is on when a server has a worker count.
void resolve_buffering(reader& r, backend& b)
{
    const bool workers = std::ranges::any_of(
                             b.servers, [](const server& s) { return s.max_connections > 0; }) ||
                         (b.discovery && b.server_defaults.max_connections > 0);
    if (!r.declared(b.mark.path + ".buffering.request")) b.buffering.request = workers;
    if (!r.declared(b.mark.path + ".buffering.response")) b.buffering.response = workers;
}

void read_backend(reader& r, const node& n, const std::string& path, backend& b)
{
    read_map(r, n, path, backend_fields, b);
    if (!n.IsMap()) return;
    auto& defaults = b.server_defaults;
    const auto defaults_path = path + ".server_defaults";
    defaults.mark = {r.file, 0, 0, defaults_path};
    if (const auto d = n["server_defaults"]) {
        defaults.mark = r.mark(d, defaults_path);
        read_map(r, d, defaults_path, std::span(server_fields).first(shared_server_keys), defaults);
    }
    defaults.keepalive_timeout_declared = r.declared(defaults_path + ".keepalive_timeout");
    if (const auto servers = n["servers"]) {
        read_items(r, servers, path + ".servers", server_fields, b.servers,
                   {{"address", "address: 127.0.0.1:8000"}});
    }
    for (auto& s : b.servers) inherit_defaults(r, defaults, defaults_path, s);
    resolve_idle_timeout(r, b);
    resolve_buffering(r, b);
}

void read_access_log(reader& r, const node& n, const std::string& path, root& c)
{
    std::string text;
    if (!r.text(n, path, text)) return;
    if (text.empty()) return r.error(n, path, "is empty; expected stdout, off or a file path");
    using kind = access_log::kind;
    if (text == "stdout")
        c.access_log = {kind::stdout_stream, ""};
    else if (text == "off")
        c.access_log = {kind::off, ""};
    else
        c.access_log = {kind::file, text};
}

void read_threads(reader& r, const node& n, const std::string& path, root& c)
{
    if (n.IsScalar() && n.Scalar() == "auto") {
        c.threads = 0;
        return;
    }
    unsigned threads = 0;
    if (!r.whole(n, path, threads, "a number of threads, or auto")) return;
    if (threads == 0) return r.error(n, path, "is 0; expected at least 1, or auto");
    c.threads = threads;
}

// A kernel feature used where the kernel allows it (auto), or never (off).
void read_auto_off(reader& r, const node& n, const std::string& path, bool& on)
{
    std::string mode;
    if (!r.text(n, path, mode)) return;
    if (mode != "auto" && mode != "off")
        return r.error(n, path, "is \"" + mode + "\"; expected auto or off");
    on = mode == "auto";
}

// RFC 9110 5.6.2: a field name is a token.
bool is_token(std::string_view s)
{
    return std::ranges::all_of(s, [](unsigned char c) {
        return std::isalnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) !=
                                      std::string_view::npos;
    });
}

void read_header_name(reader& r, const node& n, const std::string& path, std::string& out)
{
    if (r.text(n, path, out) && !is_token(out))
        r.error(n, path,
                "is not a header name; use letters, digits and - (e.g. "
                "X-Sluice-Not-Processed), or \"\" to turn it off");
}

const field<scale_out> scale_out_fields[] = {
    {"not_processed_header",
     [](auto& r, auto& n, auto& p, auto& s) { read_header_name(r, n, p, s.not_processed_header); }},
    {"peers", read_peers},
};

const field<root> root_fields[] = {
    {"threads", read_threads},
    {"io_uring", [](auto& r, auto& n, auto& p, root& c) { read_auto_off(r, n, p, c.io_uring); }},
    {"splice", [](auto& r, auto& n, auto& p, root& c) { read_auto_off(r, n, p, c.splice); }},
    {"access_log", read_access_log},
    {"listeners",
     [](auto& r, auto& n, auto& p, auto& c) {
         read_items(r, n, p, listener_fields, c.listeners,
                    {{"name", "name: web"}, {"bind", "bind: 0.0.0.0:8080"}});
     }},
    {"admin",
     [](auto& r, auto& n, auto& p, auto& c) {
         c.admin.mark = r.mark(n, p);
         read_map(r, n, p, admin_fields, c.admin);
     }},
    {"timeouts", [](auto& r, auto& n, auto& p,
                    auto& c) { read_timeouts(r, n, p, c.timeouts, &timeout_field::value); }},
    {"backends",
     [](auto& r, auto& n, auto& p, auto& c) {
         walk_list(r, n, p, [&](const node& item, const std::string& item_path) {
             auto& b = c.backends.emplace_back();
             b.mark = r.mark(item, item_path);
             read_backend(r, item, item_path, b);
             if (item.IsMap() && !r.declared(item_path + ".name")) {
                 r.error(item, item_path + ".name", "missing; add e.g. `name: app`");
             }
         });
     }},
    {"scale_out",
     [](auto& r, auto& n, auto& p, auto& c) { read_map(r, n, p, scale_out_fields, c.scale_out); }},
};

// A listener with neither routes nor default_backend can only mean the one backend there is.
void infer_default_backends(reader& r, root& c)
{
    for (auto& l : c.listeners) {
        if (!l.routes.empty() || !l.default_backend.empty()) continue;
        if (c.backends.size() == 1) {
            l.default_backend = c.backends.front().name;
        } else if (c.backends.size() > 1) {
            auto at = l.mark;
            at.path += ".default_backend";
            r.errors.push_back(located(at, "missing; with several backends, name the one that "
                                           "serves requests no route matches"));
        }
    }
}

void drop_repeats(std::vector<std::string>& messages)
{
    std::set<std::string> seen;
    std::erase_if(messages, [&](const std::string& m) { return !seen.insert(m).second; });
}

}  // namespace

config_error::config_error(std::vector<std::string> errors)
    : std::runtime_error([&] {
          std::string all;
          for (const auto& e : errors) {
              if (!all.empty()) all += '\n';
              all += e;
          }
          return all;
      }()),
      errors_(std::move(errors))
{
}

loaded load_string(std::string_view yaml, const std::string& source_name)
{
    node doc;
    try {
        doc = YAML::Load(std::string(yaml));
    } catch (const YAML::Exception& e) {
        const source_mark at{source_name, e.mark.line + 1, e.mark.column + 1, ""};
        throw config_error(
            {located(at, "YAML syntax: " + e.msg + "; check the indentation, colons and quotes")});
    }
    reader r{source_name, {}, {}, {}};
    loaded result;
    result.config.source = source_name;
    result.config.admin.mark = {source_name, 0, 0, "admin"};
    if (doc.IsNull()) {
        throw config_error({located({source_name, 1, 1, ""},
                                    "the file is empty; expected listeners and backends")});
    }
    read_map(r, doc, "", root_fields, result.config);
    infer_default_backends(r, result.config);
    read_admin_token(result.config, r.marks, r.errors);
    result.config.marks = std::move(r.marks);
    for (auto& d : validate(result.config)) {
        auto& list = d.level == diagnostic::severity::error ? r.errors : r.warnings;
        list.push_back(std::move(d.message));
    }
    drop_repeats(r.errors);
    drop_repeats(r.warnings);
    if (!r.errors.empty()) throw config_error(std::move(r.errors));
    result.warnings = std::move(r.warnings);
    return result;
}

loaded load_file(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) throw config_error({path + ": cannot be read; check the path and its permissions"});
    std::ostringstream text;
    text << in.rdbuf();
    return load_string(text.str(), path);
}

}  // namespace sluice::config
