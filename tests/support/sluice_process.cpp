#include "support/sluice_process.hpp"

#include "support/http_client.hpp"
#include "support/proxy_config.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace sluice::test {

namespace {

using steady = std::chrono::steady_clock;
constexpr auto poll_interval = 10ms;
constexpr auto startup_deadline = 10s;

std::string read_file(const std::string& path)
{
    std::ifstream in{path, std::ios::binary};
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string replace_all(std::string text, const std::string& from, const std::string& to)
{
    for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
        text.replace(at, from.size(), to);
    return text;
}

// Starts `SLUICE_BINARY args` with stdout/stderr to the given files. The child gets SIGKILL if
// the thread that started it dies, so a crashed test leaves no proxy behind.
pid_t spawn(const std::vector<std::string>& args, const std::string& out, const std::string& err)
{
    std::vector<std::string> argv_text{SLUICE_BINARY};
    argv_text.insert(argv_text.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_text) argv.push_back(a.data());
    argv.push_back(nullptr);
    int in_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    int out_fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int err_fd = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(127);
        ::dup2(in_fd, 0);
        ::dup2(out_fd, 1);
        ::dup2(err_fd, 2);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    ::close(in_fd);
    ::close(out_fd);
    ::close(err_fd);
    if (pid < 0) throw std::runtime_error("fork failed");
    return pid;
}

int decode_status(int status)
{
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// "name{a="1",b="2"}" -> name and labels; label order is irrelevant.
std::pair<std::string, std::map<std::string, std::string>> split_sample(std::string_view s)
{
    auto brace = s.find('{');
    std::pair<std::string, std::map<std::string, std::string>> out{std::string(s.substr(0, brace)),
                                                                   {}};
    if (brace == std::string_view::npos) return out;
    auto rest = s.substr(brace + 1);
    while (!rest.empty() && rest.front() != '}') {
        auto eq = rest.find("=\"");
        if (eq == std::string_view::npos) break;
        auto key = rest.substr(0, eq);
        auto value_end = rest.find('"', eq + 2);
        while (value_end != std::string_view::npos && rest[value_end - 1] == '\\')
            value_end = rest.find('"', value_end + 1);
        if (value_end == std::string_view::npos) break;
        out.second[std::string(key)] = std::string(rest.substr(eq + 2, value_end - eq - 2));
        rest.remove_prefix(value_end + 1);
        if (!rest.empty() && rest.front() == ',') rest.remove_prefix(1);
    }
    return out;
}

}  // namespace

temp_dir::temp_dir()
{
    char pattern[] = "/tmp/sluice-itest-XXXXXX";
    if (!::mkdtemp(pattern)) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
}

temp_dir::~temp_dir()
{
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
}

std::string temp_dir::write(const std::string& name, const std::string& text) const
{
    auto path = file(name);
    std::ofstream{path, std::ios::binary} << text;
    return path;
}

std::string temp_dir::write_config(const std::string& name, const std::string& yaml) const
{
    return write(name, replace_all(yaml, "{dir}", path_.string()));
}

command_result run_sluice(const std::vector<std::string>& args, millis timeout)
{
    temp_dir dir;
    pid_t pid = spawn(args, dir.file("stdout"), dir.file("stderr"));
    command_result out;
    auto deadline = steady::now() + timeout;
    int status = 0;
    while (::waitpid(pid, &status, WNOHANG) == 0) {
        if (steady::now() > deadline) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            status = -1;
            break;
        }
        std::this_thread::sleep_for(poll_interval);
    }
    out.exit_code = status == -1 ? -1 : decode_status(status);
    out.out = read_file(dir.file("stdout"));
    out.err = read_file(dir.file("stderr"));
    return out;
}

sluice_process::sluice_process(const proxy_config& config) : sluice_process(config.yaml()) {}

sluice_process::sluice_process(std::string config_yaml, std::vector<std::string> extra_args)
{
    config_path_ = dir_.write_config("sluice.yaml", config_yaml);
    start(std::move(extra_args));
}

void sluice_process::start(std::vector<std::string> extra_args)
{
    std::vector<std::string> args{"run", "-c", config_path_};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    pid_ = spawn(args, dir_.file("stdout"), dir_.file("stderr"));
    listening_address("listener ", startup_deadline);  // throws with stderr if it never comes up
}

sluice_process::~sluice_process()
{
    if (!running()) return;
    send_signal(SIGTERM);
    if (!wait_exit(5s)) {
        send_signal(SIGKILL);
        wait_exit(5s);
    }
}

std::string sluice_process::listening_address(const std::string& prefix, millis timeout) const
{
    const std::string marker = " listening on ";
    auto deadline = steady::now() + timeout;
    for (;;) {
        std::istringstream lines{stderr_text()};
        for (std::string line; std::getline(lines, line);) {
            auto at = line.find(marker);
            if (at == std::string::npos) continue;
            auto who = line.substr(0, at);
            bool match = prefix == "listener " ? who.find("listener ") != std::string::npos
                                               : who.size() >= prefix.size() &&
                                                     who.compare(who.size() - prefix.size(),
                                                                 prefix.size(), prefix) == 0;
            if (!match) continue;
            auto address = line.substr(at + marker.size());
            return address.substr(0, address.find_first_of(" \t\r"));
        }
        int status = 0;
        if (!exit_code_ && ::waitpid(pid_, &status, WNOHANG) == pid_)
            exit_code_ = decode_status(status);
        if (exit_code_ || steady::now() > deadline) {
            auto who = prefix == "listener " ? std::string("listener NAME") : prefix;
            auto how = exit_code_ ? " (it exited with " + std::to_string(*exit_code_) + ")" : "";
            throw std::runtime_error("sluice never said '" + who + marker + "...'" + how +
                                     "; stderr:\n" + stderr_text());
        }
        std::this_thread::sleep_for(poll_interval);
    }
}

std::uint16_t sluice_process::port(const std::string& name) const
{
    auto address = listening_address(name.empty() ? "listener " : "listener " + name,
                                     startup_deadline);
    auto colon = address.rfind(':');
    return static_cast<std::uint16_t>(std::stoi(address.substr(colon + 1)));
}

std::uint16_t sluice_process::admin_port() const
{
    auto address = listening_address("admin", startup_deadline);
    return static_cast<std::uint16_t>(std::stoi(address.substr(address.rfind(':') + 1)));
}

std::string sluice_process::stderr_text() const { return read_file(dir_.file("stderr")); }

std::string sluice_process::stdout_text() const { return read_file(dir_.file("stdout")); }

std::vector<std::string> sluice_process::access_log_lines() const
{
    std::vector<std::string> out;
    std::istringstream lines{read_file(dir_.file("access.log"))};
    for (std::string line; std::getline(lines, line);)
        if (!line.empty()) out.push_back(line);
    return out;
}

std::vector<json_line> sluice_process::access_log() const
{
    std::vector<json_line> out;
    for (const auto& line : access_log_lines())
        if (auto parsed = json_line::parse(line)) out.push_back(std::move(*parsed));
    return out;
}

std::vector<json_line> sluice_process::wait_access_log(std::size_t count, millis timeout) const
{
    auto deadline = steady::now() + timeout;
    auto lines = access_log();
    while (lines.size() < count && steady::now() < deadline) {
        std::this_thread::sleep_for(poll_interval);
        lines = access_log();
    }
    return lines;
}

bool sluice_process::wait_stderr(const std::string& text, millis timeout) const
{
    auto deadline = steady::now() + timeout;
    while (stderr_text().find(text) == std::string::npos) {
        if (steady::now() > deadline) return false;
        std::this_thread::sleep_for(poll_interval);
    }
    return true;
}

void sluice_process::send_signal(int signal) const
{
    if (pid_ > 0) ::kill(pid_, signal);
}

std::optional<int> sluice_process::wait_exit(millis timeout)
{
    auto deadline = steady::now() + timeout;
    while (!exit_code_) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            exit_code_ = decode_status(status);
            break;
        }
        if (steady::now() > deadline) break;
        std::this_thread::sleep_for(poll_interval);
    }
    return exit_code_;
}

bool sluice_process::running() { return !wait_exit(0ms).has_value(); }

int sluice_process::fd_count() const
{
    std::error_code ec;
    auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid_) + "/fd", ec);
    if (ec) return -1;
    return static_cast<int>(std::distance(it, std::filesystem::directory_iterator{}));
}

long sluice_process::rss_kib() const
{
    std::istringstream lines{read_file("/proc/" + std::to_string(pid_) + "/status")};
    for (std::string line; std::getline(lines, line);)
        if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    return -1;
}

std::optional<double> sluice_process::metric(const std::string& name_with_labels) const
{
    auto r = http_get(admin_port(), "/metrics");
    if (r.status != 200) return std::nullopt;
    auto wanted = split_sample(name_with_labels);
    std::istringstream lines{r.body};
    for (std::string line; std::getline(lines, line);) {
        if (line.empty() || line[0] == '#') continue;
        auto space = line.rfind(' ');
        if (space == std::string::npos || split_sample(line.substr(0, space)) != wanted) continue;
        return std::stod(line.substr(space + 1));
    }
    return std::nullopt;
}

std::optional<double> sluice_process::wait_metric(const std::string& name_with_labels,
                                                  double expected, millis timeout) const
{
    auto deadline = steady::now() + timeout;
    auto value = metric(name_with_labels);
    while (value != expected && steady::now() < deadline) {
        std::this_thread::sleep_for(poll_interval);
        value = metric(name_with_labels);
    }
    return value;
}

}  // namespace sluice::test
