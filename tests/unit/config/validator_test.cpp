#include "config/validator.hpp"

#include "config/loader.hpp"
#include "config/units.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>

namespace sluice::config {
namespace {

// Valid as it stands; each case breaks one rule. Loaded, so findings carry its marks.
constexpr std::string_view base_yaml = R"(listeners:
  - name: web
    bind: 127.0.0.1:8080
    default_backend: app
  - name: api
    bind: 127.0.0.1:8081
    routes:
      - { match: { path_prefix: /x }, backend: app }
backends:
  - name: app
    health:
      http: { expect_status: [200], busy_status: [503] }
    servers:
      - { name: a1, address: 127.0.0.1:8000, max_connections: 2, weight: 1 }
      - { name: a2, address: 127.0.0.1:8001, max_connections: 2 }
)";

root base() { return load_string(base_yaml, "t.yaml").config; }

// "error: message" / "warning: message", for readable comparisons.
std::vector<std::string> findings(const root& config)
{
    std::vector<std::string> out;
    for (const auto& d : validate(config)) {
        out.push_back((d.level == diagnostic::severity::error ? "error: " : "warning: ") +
                      d.message);
    }
    return out;
}

endpoint at(std::string_view text) { return *parse_endpoint(text).value; }

struct rule_case {
    std::string_view rule;
    std::function<void(root&)> change;
    std::vector<std::string> expected;
};

server& first_server(root& c) { return c.backends[0].servers[0]; }
health& checks(root& c) { return *c.backends[0].health; }

TEST(validator, a_valid_config_has_no_findings) { EXPECT_TRUE(findings(base()).empty()); }

TEST(validator, each_rule_reports_at_the_key_that_breaks_it)
{
    const rule_case cases[] = {
        {"unique listener names",
         [](root& c) { c.listeners[1].name = "web"; },
         {"error: t.yaml:5:11: listeners[1].name: \"web\" is already the name of listeners[0]; "
          "listener names must be unique"}},
        {"unique server names",
         [](root& c) { c.backends[0].servers[1].name = "a1"; },
         {"error: t.yaml:15:17: backends[0].servers[1].name: \"a1\" is already the name of "
          "backends[0].servers[0]; server names must be unique"}},
        {"route reference",
         [](root& c) { c.listeners[1].routes[0].backend = "ap"; },
         {"error: t.yaml:8:48: listeners[1].routes[0].backend: no backend is named \"ap\"; did "
          "you mean `app`?"}},
        {"default backend reference",
         [](root& c) { c.listeners[0].default_backend = "zzz"; },
         {"error: t.yaml:4:22: listeners[0].default_backend: no backend is named \"zzz\"; "
          "expected one of: app"}},
        {"same bind twice",
         [](root& c) { c.listeners[1].bind = at("127.0.0.1:8080"); },
         {"error: t.yaml:6:11: listeners[1].bind: 127.0.0.1:8080 is already bound by "
          "listeners[0]; give each listener its own address"}},
        {"wildcard overlaps",
         [](root& c) { c.listeners[1].bind = at("0.0.0.0:8080"); },
         {"error: t.yaml:6:11: listeners[1].bind: 0.0.0.0:8080 is already bound by listeners[0]; "
          "give each listener its own address"}},
        {"admin bind clashes",
         [](root& c) { c.admin.bind = at("127.0.0.1:8081"); },
         {"error: t.yaml:6:11: listeners[1].bind: 127.0.0.1:8081 is already bound by admin; give "
          "each listener its own address"}},
        {"port 0 binds never clash",
         [](root& c) { c.listeners[0].bind = c.listeners[1].bind = at("127.0.0.1:0"); },
         {}},
        {"server port",
         [](root& c) { first_server(c).address = at("127.0.0.1:0"); },
         {"error: t.yaml:14:30: backends[0].servers[0].address: 127.0.0.1:0 has port 0; expected "
          "a port 1-65535"}},
        {"agent port",
         [](root& c) { first_server(c).agent_port = 0; },
         {"error: t.yaml:14:9: backends[0].servers[0].agent_port: is 0; expected a port 1-65535"}},
        {"weight too large",
         [](root& c) { first_server(c).weight = 257; },
         {"error: t.yaml:14:74: backends[0].servers[0].weight: 257 is too large; expected 0-256"}},
        {"weight 0",
         [](root& c) { first_server(c).weight = 0; },
         {"warning: t.yaml:14:74: backends[0].servers[0].weight: is 0: this server is never "
          "chosen"}},
        {"one limited server is enough", [](root& c) { first_server(c).max_connections = 0; }, {}},
        {"rise and fall",
         [](root& c) { checks(c).rise = checks(c).fall = 0; },
         {"error: t.yaml:12:7: backends[0].health.rise: is 0; expected at least 1 check in a row",
          "error: t.yaml:12:7: backends[0].health.fall: is 0; expected at least 1 check in a row"}},
        {"jitter",
         [](root& c) { checks(c).jitter_percent = 101; },
         {"error: t.yaml:12:7: backends[0].health.jitter: 101% is over 100%; expected 0% to 100%"}},
        {"max ejected",
         [](root& c) { c.backends[0].passive.max_ejected_percent = 150; },
         {"error: t.yaml:10:5: backends[0].passive.max_ejected: 150% is over 100%; expected 0% "
          "to 100%"}},
        {"check timing",
         [](root& c) { checks(c).interval = checks(c).timeout = 0s; },
         {"error: t.yaml:12:7: backends[0].health.interval: is 0; expected a duration like 2s",
          "error: t.yaml:12:7: backends[0].health.timeout: is 0; expected a duration like 1s"}},
        {"status range",
         [](root& c) {
             checks(c).http->expect_status = {99, 600};
         },
         {"error: t.yaml:12:30: backends[0].health.http.expect_status: 99 is not an HTTP status; "
          "expected 100-599",
          "error: t.yaml:12:30: backends[0].health.http.expect_status: 600 is not an HTTP status; "
          "expected 100-599"}},
        {"busy is not up",
         [](root& c) { checks(c).http->busy_status = {200}; },
         {"error: t.yaml:12:50: backends[0].health.http.busy_status: 200 is also in "
          "expect_status; a status means up or busy, not both"}},
        {"listener connections",
         [](root& c) { c.listeners[0].max_connections = 0; },
         {"error: t.yaml:2:5: listeners[0].max_connections: is 0; expected at least 1"}},
        {"header limit",
         [](root& c) { c.listeners[0].limits.max_header = 512; },
         {"error: t.yaml:2:5: listeners[0].limits.max_header: 512 bytes is too small; expected at "
          "least 1k"}},
        {"no servers",
         [](root& c) { c.backends[0].servers.clear(); },
         {"error: t.yaml:14:7: backends[0].servers: none; add at least one server, or a discovery "
          "block"}},
    };
    for (const auto& c : cases) {
        auto config = base();
        c.change(config);
        EXPECT_EQ(findings(config), c.expected) << c.rule;
    }
}

// Loads base_yaml with `buffering` added to backend app (line 16); the errors, or none.
std::vector<std::string> buffering_errors(const std::string& flow_map)
{
    try {
        load_string(std::string(base_yaml) + "    buffering: " + flow_map + "\n", "t.yaml");
    } catch (const config_error& e) {
        return e.errors();
    }
    return {};
}

// A fresh directory under the system's temp dir, removed with its contents at the end.
struct scratch_dir {
    std::filesystem::path path;
    scratch_dir()
    {
        std::string name = (std::filesystem::temp_directory_path() / "sluice-spool-XXXXXX");
        path = ::mkdtemp(name.data());
    }
    ~scratch_dir()
    {
        std::filesystem::permissions(path, std::filesystem::perms::owner_all);
        std::filesystem::remove_all(path);
    }
};

TEST(validator, buffering_sizes_are_checked_where_written)
{
    EXPECT_EQ(buffering_errors("{ memory: 64k, max_spool: 64k }"), std::vector<std::string>{});
    EXPECT_EQ(buffering_errors("{ memory: 0 }"),
              std::vector<std::string>{
                  "t.yaml:16:26: backends[0].buffering.memory: is 0; expected a size like 1m "
                  "(how much of a body is held in memory before it is spooled to a file)"});
    EXPECT_EQ(buffering_errors("{ memory: 2m, max_spool: 64k }"),
              std::vector<std::string>{
                  "t.yaml:16:41: backends[0].buffering.max_spool: 64k is less than "
                  "buffering.memory 2m; expected at least memory (a body that fits in memory is "
                  "never spooled): raise max_spool, e.g. to 1g, or lower memory"});
}

TEST(validator, a_spool_dir_must_be_an_existing_writable_directory)
{
    scratch_dir dir;
    const auto spool = [&](const std::filesystem::path& p) {
        return buffering_errors("{ spool_dir: \"" + p.string() + "\" }");
    };
    EXPECT_EQ(spool(dir.path), std::vector<std::string>{});
    const auto tail = "; create it, or set spool_dir to an existing writable directory (\"\" = "
                      "$TMPDIR or /tmp)";
    EXPECT_EQ(spool(dir.path / "missing"),
              std::vector<std::string>{"t.yaml:16:29: backends[0].buffering.spool_dir: \"" +
                                       (dir.path / "missing").string() + "\" does not exist" +
                                       tail});
    std::ofstream(dir.path / "file") << "x";
    EXPECT_EQ(spool(dir.path / "file"),
              std::vector<std::string>{"t.yaml:16:29: backends[0].buffering.spool_dir: \"" +
                                       (dir.path / "file").string() + "\" is not a directory" +
                                       tail});
}

TEST(validator, a_spool_dir_this_process_cannot_write_is_an_error)
{
    if (::geteuid() == 0) GTEST_SKIP() << "root may write anywhere: no unwritable dir to test";
    scratch_dir dir;
    const auto spool = [&](const std::filesystem::path& p) {
        return buffering_errors("{ spool_dir: \"" + p.string() + "\" }");
    };
    std::filesystem::permissions(dir.path, std::filesystem::perms::owner_read |
                                               std::filesystem::perms::owner_exec);
    const auto errors = spool(dir.path);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_NE(errors[0].find("backends[0].buffering.spool_dir: \"" + dir.path.string() +
                             "\" is not writable by this process"),
              std::string::npos)
        << errors[0];
}

TEST(validator, an_empty_config_needs_a_listener_and_a_backend)
{
    root empty;
    empty.source = "t.yaml";
    EXPECT_EQ(findings(empty),
              (std::vector<std::string>{
                  "error: t.yaml:1:1: listeners: none; add at least one listener",
                  "error: t.yaml:1:1: backends: none; add at least one backend with a server"}));
}

TEST(validator, a_root_built_in_code_gets_messages_without_a_location)
{
    auto config = base();
    auto copy = config.backends[0];
    copy.mark = {"", 0, 0, "backends[1]"};
    config.backends.push_back(copy);
    EXPECT_EQ(findings(config),
              std::vector<std::string>{"error: backends[1].name: \"app\" is already the name of "
                                       "backends[0]; backend names must be unique"});
}

TEST(validator, did_you_mean_only_suggests_close_words)
{
    const std::vector<std::string> known{"bind", "backends", "busy_hold"};
    const std::pair<std::string_view, std::string_view> cases[] = {
        {"bnd", "; did you mean `bind`?"},
        {"bakends", "; did you mean `backends`?"},
        {"busyhold", "; did you mean `busy_hold`?"},
        {"colour", ""},
        {"b", ""},
    };
    for (const auto& [word, hint] : cases) EXPECT_EQ(did_you_mean(word, known), hint) << word;
}

// did_you_mean skips candidates whose length alone rules them out; the answer must be the one a
// comparison with every candidate gives (the first of the closest, within the threshold).
TEST(validator, did_you_mean_answers_as_a_comparison_with_every_key_would)
{
    const auto distance = [](std::string_view a, std::string_view b) {
        std::vector<std::size_t> row(b.size() + 1);
        for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
        for (std::size_t i = 1; i <= a.size(); ++i) {
            std::size_t diagonal = row[0];
            row[0] = i;
            for (std::size_t j = 1; j <= b.size(); ++j) {
                const auto up = row[j];
                row[j] = std::min(
                    {row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0u : 1u)});
                diagonal = up;
            }
        }
        return row[b.size()];
    };
    const std::vector<std::string> known{"bind",    "backends", "busy_hold", "max_connections",
                                         "servers", "server",   "timeouts",  "tls"};
    std::uint32_t seed = 7;
    int suggested = 0;
    const auto next = [&seed] { return seed = seed * 1664525u + 1013904223u; };
    for (int n = 0; n < 3000; ++n) {
        // A key with a few random edits: close to one key, or to none.
        std::string word = known[next() % known.size()];
        for (auto edits = next() % 6; edits > 0; --edits) {
            const char ch = "abcdeilmnorstuvx_"[next() % 17];
            const auto at = word.empty() ? 0 : next() % word.size();
            if (const auto kind = next() % 3; kind == 0)
                word.insert(at, 1, ch);
            else if (kind == 1 && !word.empty())
                word.erase(at, 1);
            else if (!word.empty())
                word[at] = ch;
        }
        const std::string* best = nullptr;
        std::size_t best_distance = std::max<std::size_t>(1, word.size() / 3) + 1;
        for (const auto& k : known)
            if (const auto d = distance(word, k); d < best_distance) best = &k, best_distance = d;
        suggested += best != nullptr;
        EXPECT_EQ(did_you_mean(word, known), best ? "; did you mean `" + *best + "`?" : "") << word;
    }
    EXPECT_GT(suggested, 300);  // both answers are exercised
    EXPECT_LT(suggested, 2700);
    EXPECT_EQ(did_you_mean(std::string(5000, 'b'), known), "");
}

}  // namespace
}  // namespace sluice::config
