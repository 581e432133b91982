// The command line and the process as an operator sees them: check, --version, config errors
// that point at the line to edit, no descriptor leaks, and a clean exit on SIGTERM/SIGINT.

#include "integration/polling.hpp"
#include "support/http_client.hpp"
#include "support/proxy_config.hpp"
#include "support/scripted_backend.hpp"
#include "support/sluice_process.hpp"

#include <signal.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

namespace sluice::test {
namespace {

TEST(lifecycle_basics, check_accepts_a_good_config)
{
    temp_dir dir;
    auto cfg = proxy_config{}.backend("app", {"127.0.0.1:8001"});
    auto result = run_sluice({"check", "-c", dir.write_config("good.yaml", cfg.yaml())});
    EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
}

struct bad_config_case {
    const char* name;
    std::string yaml;
    std::vector<std::string> expected;  // each must appear in the output
};

void PrintTo(const bad_config_case& c, std::ostream* out) { *out << c.name; }

const std::string listener_yaml = "listeners:\n"                 // 1
                                  "  - name: web\n"              // 2
                                  "    bind: 127.0.0.1:0\n"      // 3
                                  "    default_backend: app\n";  // 4

const std::vector<bad_config_case> bad_configs = {
    {"misspelt_key",
     listener_yaml + "backends:\n"                        // 5
                     "  - name: app\n"                    // 6
                     "    servers:\n"                     // 7
                     "      - name: app1\n"               // 8
                     "        adress: 127.0.0.1:8001\n",  // 9
     {"bad.yaml:9:9", "backends[0].servers[0]", "address"}},
    {"bad_duration",
     listener_yaml + "timeouts:\n"       // 5
                     "  server: soon\n"  // 6
                     "backends:\n"
                     "  - name: app\n"
                     "    servers:\n"
                     "      - { name: app1, address: 127.0.0.1:8001 }\n",
     {"bad.yaml:6:", "timeouts.server"}},
    {"unknown_backend_reference",
     "listeners:\n"
     "  - name: web\n"
     "    bind: 127.0.0.1:0\n"
     "    default_backend: nowhere\n"  // 4
     "backends:\n"
     "  - name: app\n"
     "    servers:\n"
     "      - { name: app1, address: 127.0.0.1:8001 }\n",
     {"bad.yaml:4:", "listeners[0].default_backend", "nowhere"}},
};

class bad_config : public ::testing::TestWithParam<bad_config_case> {};

TEST_P(bad_config, fails_check_and_run_naming_file_line_column_and_key_path)
{
    temp_dir dir;
    auto path = dir.write("bad.yaml", GetParam().yaml);
    for (std::string command : {"check", "run"}) {
        auto result = run_sluice({command, "-c", path}, 10s);
        EXPECT_EQ(result.exit_code, 1) << command << ":\n" << result.out << result.err;
        auto output = result.out + result.err;
        for (const auto& text : GetParam().expected)
            EXPECT_NE(output.find(text), std::string::npos)
                << command << ": '" << text << "' not in:\n"
                << output;
    }
}

INSTANTIATE_TEST_SUITE_P(configs, bad_config, ::testing::ValuesIn(bad_configs),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(lifecycle_basics, version_prints_the_version)
{
    auto result = run_sluice({"--version"});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_NE((result.out + result.err).find("0.1.0"), std::string::npos)
        << result.out << result.err;
}

// Waits until the proxy's descriptor count settles at or below `limit` (closes may lag).
int settled_fd_count(const sluice_process& proxy, int limit)
{
    auto deadline = std::chrono::steady_clock::now() + 10s;
    int count = proxy.fd_count();
    while (count > limit && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(20ms);
        count = proxy.fd_count();
    }
    return count;
}

TEST(lifecycle_basics, thousands_of_requests_leak_no_descriptors)
{
    scripted_backend app{{.keepalive_timeout = 5s}};
    sluice_process proxy{config_for(app).limits("{ max_header: 4k }").timeout("client_idle", "1s")};
    for (int i = 0; i < 20; ++i) ASSERT_EQ(http_get(proxy.port()).status, 200);  // warm the pool
    int before = proxy.fd_count();
    for (int i = 0; i < 1500; ++i) ASSERT_EQ(http_get(proxy.port(), "/n").status, 200) << i;
    connection kept{proxy.port()};
    for (int i = 0; i < 500; ++i) ASSERT_EQ(kept.send({}).status, 200) << i;
    kept.close();
    for (int i = 0; i < 100; ++i)
        EXPECT_EQ(status_of(raw_exchange(proxy.port(), "BAD\r\n\r\n")), 400);
    for (int i = 0; i < 100; ++i) {  // clients that leave mid-head and mid-body
        connection gone{proxy.port()};
        gone.send_raw(i % 2 ? "GET / HTTP/1.1\r\nHo"
                            : "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\nab");
    }
    int after = settled_fd_count(proxy, before + 4);
    EXPECT_LE(after, before + 4) << "before " << before << ", after " << after;
}

TEST(lifecycle_basics, sigterm_and_sigint_exit_0)
{
    scripted_backend app;
    for (int signal : {SIGTERM, SIGINT}) {
        sluice_process proxy{config_for(app)};
        ASSERT_EQ(http_get(proxy.port()).status, 200);
        proxy.send_signal(signal);
        EXPECT_EQ(proxy.wait_exit(10s), 0) << "signal " << signal << "\n" << proxy.stderr_text();
    }
}

// Each thread's mask of `field` ("SigBlk") and the process's ("SigCgt", signals with a handler).
std::map<std::string, std::uint64_t> signal_masks(pid_t pid, const std::string& field)
{
    std::map<std::string, std::uint64_t> out;
    const auto tasks = "/proc/" + std::to_string(pid) + "/task";
    for (const auto& task : std::filesystem::directory_iterator(tasks)) {
        std::ifstream status(task.path() / "status");
        for (std::string line; std::getline(status, line);)
            if (line.starts_with(field + ":"))
                out[task.path().filename()] = std::stoull(line.substr(field.size() + 1), nullptr,
                                                          16);
    }
    return out;
}

// SIGTERM, SIGINT and SIGHUP wait for the control thread's loop in a signalfd
// (net/signal_reader.hpp): blocked in every thread, and no handler for them that a thread could
// run (under ThreadSanitizer, late).
TEST(lifecycle_basics, stop_and_reload_signals_are_read_from_a_signalfd_never_taken_by_a_thread)
{
    scripted_backend app;
    sluice_process proxy{config_for(app).top_level("threads: 2")};
    ASSERT_EQ(http_get(proxy.port()).status, 200);
    const std::uint64_t stop = 1ull << (SIGTERM - 1) | 1ull << (SIGINT - 1) | 1ull << (SIGHUP - 1);
    const auto blocked = signal_masks(proxy.pid(), "SigBlk");
    for (const auto& [thread, mask] : blocked) EXPECT_EQ(mask & stop, stop) << "thread " << thread;
    EXPECT_GE(blocked.size(), 5u) << "two workers, the admin thread, the checker, the log writer";
    for (const auto& [thread, mask] : signal_masks(proxy.pid(), "SigCgt"))
        EXPECT_EQ(mask & stop, 0u) << "a handler, seen from thread " << thread;
    // And they do arrive: SIGHUP reloads.
    proxy.send_signal(SIGHUP);
    EXPECT_EQ(proxy.wait_metric(R"(sluice_config_reloads_total{result="success"})", 1), 1);
}

}  // namespace
}  // namespace sluice::test
