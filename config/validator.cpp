#include "config/validator.hpp"

#include "config/checker.hpp"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <numeric>
#include <system_error>

namespace sluice::config {
namespace {

std::size_t edit_distance(std::string_view a, std::string_view b)
{
    std::vector<std::size_t> row(b.size() + 1);
    std::iota(row.begin(), row.end(), 0);
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const auto above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
            diagonal = above;
        }
    }
    return row[b.size()];
}

source_mark top_level(const root& config) { return {config.source, 1, 1, ""}; }

// `names` of each item must be unique; a repeat points at the earlier one.
template <class Items>
void check_unique_names(checker& c, const Items& items, std::string_view what)
{
    std::map<std::string, const source_mark*> first;
    for (const auto& item : items) {
        if (item.name.empty()) continue;  // reported by the loader as missing
        auto [at, fresh] = first.emplace(item.name, &item.mark);
        if (fresh) continue;
        c.error(item.mark, "name",
                "\"" + item.name + "\" is already the name of " + at->second->path + "; " +
                    std::string(what) + " names must be unique");
    }
}

std::vector<std::string> backend_names(const root& config)
{
    std::vector<std::string> names;
    for (const auto& b : config.backends) names.push_back(b.name);
    return names;
}

void check_reference(checker& c, const root& config, const source_mark& object,
                     std::string_view key, const std::string& name)
{
    if (name.empty() || config.find_backend(name)) return;
    const auto names = backend_names(config);
    auto hint = did_you_mean(name, names);
    if (hint.empty()) {
        hint = "; expected one of:";
        for (const auto& n : names) hint += " " + n;
    }
    c.error(object, key, "no backend is named \"" + name + "\"" + hint);
}

bool same_socket(const endpoint& a, const endpoint& b)
{
    if (a.type != b.type) return false;
    if (a.type == endpoint::kind::unix_socket) return a.path == b.path;
    const auto wildcard = [](const std::string& host) { return host == "0.0.0.0" || host == "::"; };
    // Port 0 asks the system for a free port, so two of them never collide.
    return a.port != 0 && a.port == b.port &&
           (a.host == b.host || wildcard(a.host) || wildcard(b.host));
}

void check_binds(checker& c, const root& config)
{
    // Admin first: a clash is then reported at the listener, which the file always spells out.
    std::vector<std::pair<const endpoint*, const source_mark*>> bound;
    bound.emplace_back(&config.admin.bind, &config.admin.mark);
    for (const auto& l : config.listeners) bound.emplace_back(&l.bind, &l.mark);
    for (std::size_t i = 0; i < bound.size(); ++i) {
        for (std::size_t j = 0; j < i; ++j) {
            if (!same_socket(*bound[i].first, *bound[j].first)) continue;
            c.error(*bound[i].second, "bind",
                    bound[i].first->text + " is already bound by " + bound[j].second->path +
                        "; give each listener its own address");
            break;
        }
    }
}

void check_listeners(checker& c, const root& config)
{
    if (config.listeners.empty()) {
        c.error(top_level(config), "listeners", "none; add at least one listener");
    }
    check_unique_names(c, config.listeners, "listener");
    check_binds(c, config);
    for (const auto& l : config.listeners) {
        if (l.max_connections < 1) {
            c.error(l.mark, "max_connections", "is 0; expected at least 1");
        }
        if (l.limits.max_header < 1024) {
            c.error(l.mark, "limits.max_header",
                    std::to_string(l.limits.max_header) +
                        " bytes is too small; expected at least 1k");
        }
        check_reference(c, config, l.mark, "default_backend", l.default_backend);
        for (const auto& r : l.routes) check_reference(c, config, r.mark, "backend", r.backend);
    }
}

void check_statuses(checker& c, const source_mark& at, const health_http& http)
{
    const std::pair<std::string_view, const std::vector<unsigned>*> lists[] = {
        {"http.expect_status", &http.expect_status}, {"http.busy_status", &http.busy_status}};
    for (const auto& [key, list] : lists) {
        for (auto status : *list) {
            if (status < 100 || status > 599) {
                c.error(at, key,
                        std::to_string(status) + " is not an HTTP status; expected 100-599");
            }
        }
    }
    for (auto status : http.busy_status) {
        if (std::ranges::find(http.expect_status, status) == http.expect_status.end()) continue;
        c.error(at, "http.busy_status",
                std::to_string(status) + " is also in expect_status; a status means up or busy, "
                                         "not both");
    }
}

std::string over_100(unsigned percent)
{
    return std::to_string(percent) + "% is over 100%; expected 0% to 100%";
}

void check_health(checker& c, const health& h)
{
    if (h.http) check_statuses(c, h.mark, *h.http);
    if (h.agent_port == 0) c.error(h.mark, "agent.port", "is 0; expected a port 1-65535");
    if (h.interval.count() == 0) c.error(h.mark, "interval", "is 0; expected a duration like 2s");
    if (h.timeout.count() == 0) c.error(h.mark, "timeout", "is 0; expected a duration like 1s");
    if (h.jitter_percent > 100) c.error(h.mark, "jitter", over_100(h.jitter_percent));
    if (h.rise < 1) c.error(h.mark, "rise", "is 0; expected at least 1 check in a row");
    if (h.fall < 1) c.error(h.mark, "fall", "is 0; expected at least 1 check in a row");
}

void check_servers(checker& c, const backend& b)
{
    if (b.servers.empty() && !b.discovery)
        c.error(b.mark, "servers", "none; add at least one server, or a discovery block");
    check_unique_names(c, b.servers, "server");
    for (const auto& s : b.servers) {
        const bool written = !s.address.text.empty();  // else reported missing by the loader
        if (written && s.address.type == endpoint::kind::tcp && s.address.port == 0) {
            c.error(s.mark, "address", s.address.text + " has port 0; expected a port 1-65535");
        }
        if (s.agent_port == 0) c.error(s.mark, "agent_port", "is 0; expected a port 1-65535");
        if (s.weight > 256) {
            c.error(s.mark, "weight", std::to_string(s.weight) + " is too large; expected 0-256");
        } else if (s.weight == 0) {
            c.warning(s.mark, "weight", "is 0: this server is never chosen");
        }
    }
}

std::string size_text(std::uint64_t bytes)
{
    const std::pair<const char*, std::uint64_t> units[] = {
        {"g", 1ull << 30}, {"m", 1ull << 20}, {"k", 1ull << 10}};
    for (const auto& [unit, size] : units)
        if (bytes >= size && bytes % size == 0) return std::to_string(bytes / size) + unit;
    return std::to_string(bytes);
}

// The one rule here that looks at the machine: a spool directory that cannot take a file would
// otherwise show as a failed request at the first large body, long after start (or a reload).
std::string spool_dir_problem(const std::string& dir)
{
    std::error_code ec;
    const auto status = std::filesystem::status(dir, ec);
    const std::string tail = "; create it, or set spool_dir to an existing writable directory "
                             "(\"\" = $TMPDIR or /tmp)";
    if (!std::filesystem::exists(status)) return "\"" + dir + "\" does not exist" + tail;
    if (!std::filesystem::is_directory(status)) return "\"" + dir + "\" is not a directory" + tail;
    if (::access(dir.c_str(), W_OK | X_OK) != 0)
        return "\"" + dir + "\" is not writable by this process (uid " +
               std::to_string(::geteuid()) + "); give it write permission" + tail;
    return "";
}

void check_buffering(checker& c, const backend& b)
{
    const auto& buf = b.buffering;
    if (buf.memory == 0) {
        c.error(b.mark, "buffering.memory",
                "is 0; expected a size like 1m (how much of a body is held in memory before it "
                "is spooled to a file)");
    } else if (buf.max_spool < buf.memory) {
        c.error(b.mark, "buffering.max_spool",
                size_text(buf.max_spool) + " is less than buffering.memory " +
                    size_text(buf.memory) +
                    "; expected at least memory (a body that fits in "
                    "memory is never spooled): raise max_spool, e.g. to 1g, or lower memory");
    }
    if (!buf.spool_dir.empty()) {
        if (const auto problem = spool_dir_problem(buf.spool_dir); !problem.empty())
            c.error(b.mark, "buffering.spool_dir", problem);
    }
}

void check_backends(checker& c, const root& config)
{
    if (config.backends.empty()) {
        c.error(top_level(config), "backends", "none; add at least one backend with a server");
    }
    check_unique_names(c, config.backends, "backend");
    for (const auto& b : config.backends) {
        check_servers(c, b);
        check_buffering(c, b);
        if (b.health) check_health(c, *b.health);
        if (b.passive.max_ejected_percent > 100) {
            c.error(b.mark, "passive.max_ejected", over_100(b.passive.max_ejected_percent));
        }
    }
}

}  // namespace

std::vector<diagnostic> validate(const root& config, std::chrono::system_clock::time_point now)
{
    checker c{config};
    check_listeners(c, config);
    check_backends(c, config);
    check_tls(c, config, now);
    check_discovery(c, config);
    return c.take();
}

std::string located(const source_mark& where, std::string_view message)
{
    std::string out;
    if (where.line > 0) {
        out = where.file + ":" + std::to_string(where.line) + ":" + std::to_string(where.column) +
              ": ";
    } else if (!where.file.empty()) {
        out = where.file + ": ";
    }
    if (!where.path.empty()) out += where.path + ": ";
    return out + std::string(message);
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& known)
{
    const std::string* best = nullptr;
    std::size_t best_distance = std::max<std::size_t>(1, word.size() / 3) + 1;
    for (const auto& candidate : known) {
        // The distance is at least the difference in length: a long unknown key (a paste, a
        // fuzzer's input) costs no quadratic comparison with every short key.
        const auto longer = std::max(word.size(), candidate.size());
        if (longer - std::min(word.size(), candidate.size()) >= best_distance) continue;
        const auto d = edit_distance(word, candidate);
        if (d < best_distance) {
            best = &candidate;
            best_distance = d;
        }
    }
    return best ? "; did you mean `" + *best + "`?" : "";
}

}  // namespace sluice::config
