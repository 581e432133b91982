#pragma once
// The real sluice binary under test: writes the config to a fresh temp dir, runs
// `SLUICE_BINARY run -c FILE` with stdout and stderr captured to files, and learns the ports it
// bound from its `listening on` lines. The destructor stops it (SIGTERM, then SIGKILL).
//
// In the config text, "{dir}" stands for the temp dir (access log, unix sockets):
//
//   sluice_process proxy{config_for(app).timeout("server", "300ms")};
//   auto r = http_get(proxy.port(), "/");
//   auto log = proxy.access_log();    // {dir}/access.log, one parsed JSON object per line

#include "support/json_line.hpp"
#include "support/wire.hpp"

#include <sys/types.h>

#include <filesystem>

namespace sluice::test {

// A fresh directory under /tmp, removed with everything in it by the destructor.
class temp_dir {
public:
    temp_dir();
    ~temp_dir();
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;

    const std::filesystem::path& path() const { return path_; }
    std::string file(const std::string& name) const { return (path_ / name).string(); }
    // Writes `text` to `name` in the dir and returns its full path.
    std::string write(const std::string& name, const std::string& text) const;
    // Like write, with every "{dir}" in `yaml` replaced by this dir.
    std::string write_config(const std::string& name, const std::string& yaml) const;

private:
    std::filesystem::path path_;
};

struct command_result {
    int exit_code = -1;  // 128 + signal when killed; -1 when it did not finish in time
    std::string out, err;
};

// Runs `SLUICE_BINARY args...` to completion (e.g. check, --version).
command_result run_sluice(const std::vector<std::string>& args, millis timeout = 20s);

class proxy_config;

class sluice_process {
public:
    explicit sluice_process(const proxy_config& config);
    // `config_yaml` may contain "{dir}"; `extra_args` go after `run -c FILE`.
    explicit sluice_process(std::string config_yaml, std::vector<std::string> extra_args = {});
    ~sluice_process();
    sluice_process(const sluice_process&) = delete;
    sluice_process& operator=(const sluice_process&) = delete;

    // The port listener `name` bound ("" = the first listener). Throws if it never says so.
    std::uint16_t port(const std::string& name = "") const;
    std::uint16_t admin_port() const;
    pid_t pid() const { return pid_; }
    const temp_dir& dir() const { return dir_; }
    std::string config_path() const { return config_path_; }

    std::string stderr_text() const;
    std::string stdout_text() const;
    std::vector<std::string> access_log_lines() const;  // {dir}/access.log
    std::vector<json_line> access_log() const;
    // Polls until the access log has at least `count` lines; returns them (maybe fewer).
    std::vector<json_line> wait_access_log(std::size_t count, millis timeout = 10s) const;
    // Polls until stderr contains `text`.
    bool wait_stderr(const std::string& text, millis timeout = 10s) const;

    void send_signal(int signal) const;
    // The exit code (128 + signal when killed), or nullopt if still running after `timeout`.
    std::optional<int> wait_exit(millis timeout);
    bool running();

    int fd_count() const;  // entries in /proc/PID/fd
    long rss_kib() const;  // VmRSS
    // One sample scraped from /metrics, e.g. R"(sluice_requests_total{code="200"})"; label order
    // does not matter, labels not named must match too. nullopt when absent or unreachable.
    std::optional<double> metric(const std::string& name_with_labels) const;
    // Polls metric() until it equals `expected`; returns the last value seen.
    std::optional<double> wait_metric(const std::string& name_with_labels, double expected,
                                      millis timeout = 5s) const;

private:
    void start(std::vector<std::string> extra_args);
    std::string listening_address(const std::string& prefix, millis timeout) const;

    temp_dir dir_;
    std::string config_path_;
    pid_t pid_ = -1;
    mutable std::optional<int> exit_code_;  // set once the child is reaped
};

}  // namespace sluice::test
