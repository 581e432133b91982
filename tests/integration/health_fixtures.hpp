#pragma once
// Fixtures of the health, agent and passive tests: an app server whose health answer the test
// switches, a HAProxy agent on 127.0.0.1, and a server's entry in /status.

#include "integration/polling.hpp"
#include "support/http_client.hpp"
#include "support/json_line.hpp"
#include "support/proxy_config.hpp"
#include "support/scripted_backend.hpp"
#include "support/sluice_process.hpp"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <mutex>

namespace sluice::test {

// Like eventually(), at a pace the admin endpoint takes for seconds on end.
template <typename Predicate>
bool eventually_slow(Predicate done, millis timeout = 10s)
{
    return eventually(
        [&] {
            if (done()) return true;
            std::this_thread::sleep_for(20ms);
            return false;
        },
        timeout);
}

// An app server: answers `health_path` with the status set by set_health(), holds requests to
// /hold until release() (10 s at most, so a failed test still ends), and answers any other
// request with set_app_status()'s status and `X-Served-By: NAME`. Application requests (all but
// health checks) are counted, with how many ran at once.
class app_server {
public:
    explicit app_server(std::string name, std::string health_path = "/healthz")
        : name_(std::move(name)), health_path_(std::move(health_path)),
          backend_({.handler = [this](const recorded_request& r) { return answer(r); }})
    {
    }
    ~app_server() { release(); }  // held requests end before backend_ joins their threads
    app_server(const app_server&) = delete;
    app_server& operator=(const app_server&) = delete;

    std::string address() const { return backend_.address(); }
    void set_health(int status) { health_status_ = status; }
    void set_app_status(int status) { app_status_ = status; }
    void release() { released_ = true; }
    std::size_t app_requests() const { return app_requests_; }
    unsigned app_in_flight() const { return in_flight_; }
    unsigned max_app_in_flight() const { return max_in_flight_; }

    std::vector<recorded_request> health_requests() const
    {
        auto all = backend_.requests();
        std::erase_if(all, [this](const recorded_request& r) { return r.target != health_path_; });
        return all;
    }

private:
    reply answer(const recorded_request& r)
    {
        if (r.target == health_path_) return {.status = health_status_};
        ++app_requests_;
        unsigned now = ++in_flight_;
        for (unsigned seen = max_in_flight_; now > seen;)
            if (max_in_flight_.compare_exchange_weak(seen, now)) break;
        if (r.target == "/hold") eventually([this] { return released_.load(); });
        --in_flight_;
        reply out{.status = app_status_, .body = "from " + name_};
        out.headers.add("X-Served-By", name_);
        return out;
    }

    std::string name_, health_path_;
    std::atomic<int> health_status_{200}, app_status_{200};
    std::atomic<bool> released_{false};
    std::atomic<std::size_t> app_requests_{0};
    std::atomic<unsigned> in_flight_{0}, max_in_flight_{0};
    scripted_backend backend_;  // last: its threads stop before the members above go
};

// A HAProxy agent (SPEC.md "Agent check") on 127.0.0.1: every connection gets the current line
// and a newline, then is closed.
class agent_server {
public:
    explicit agent_server(std::string line = "") : line_(std::move(line))
    {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof addr;
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(fd_, 64) != 0)
            throw std::runtime_error("agent_server: cannot listen");
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin_port);
        thread_ = std::thread([this] { serve(); });
    }
    ~agent_server()
    {
        stopping_ = true;
        thread_.join();
        ::close(fd_);
    }
    agent_server(const agent_server&) = delete;
    agent_server& operator=(const agent_server&) = delete;

    std::uint16_t port() const { return port_; }
    std::size_t connections() const { return connections_; }
    void say(std::string line)
    {
        std::lock_guard lock{mutex_};
        line_ = std::move(line);
    }

private:
    void serve()
    {
        while (!stopping_) {
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, 20) != 1) continue;
            int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (client < 0) continue;
            std::string reply;
            {
                std::lock_guard lock{mutex_};
                reply = line_ + "\n";
            }
            [[maybe_unused]] auto sent = ::send(client, reply.data(), reply.size(), MSG_NOSIGNAL);
            ::close(client);
            ++connections_;
        }
    }

    int fd_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<bool> stopping_{false};
    std::atomic<std::size_t> connections_{0};
    std::mutex mutex_;
    std::string line_;
    std::thread thread_;
};

// A port on 127.0.0.1 where nothing listens (any more).
inline std::uint16_t closed_port()
{
    agent_server gone;
    return gone.port();
}

// `yaml` with `agent_port: PORT` added to the server at `address` (proxy_config writes servers
// as one flow map each).
inline std::string with_agent_port(std::string yaml, const std::string& address, std::uint16_t port)
{
    const std::string server = "address: \"" + address + "\"";
    auto at = yaml.find(server);
    if (at != std::string::npos)
        yaml.insert(at + server.size(), ", agent_port: " + std::to_string(port));
    return yaml;
}

// A server's object in /status ("state", "effective_weight", "last_check", ...): flat, so a
// json_line reads it. nullopt when /status does not list it.
inline std::optional<json_line> server_status(const sluice_process& proxy,
                                              const std::string& server)
{
    auto body = http_get(proxy.admin_port(), "/status").body;
    auto at = body.find("{\"name\":\"" + server + "\"");
    if (at == std::string::npos) return std::nullopt;
    return json_line::parse(body.substr(at, body.find('}', at) + 1 - at));
}

inline std::string state_of(const sluice_process& proxy, const std::string& server)
{
    auto s = server_status(proxy, server);
    return s ? (*s)["state"] : "(not in /status)";
}

inline bool wait_state(const sluice_process& proxy, const std::string& server,
                       const std::string& state, millis timeout = 10s)
{
    return eventually_slow([&] { return state_of(proxy, server) == state; }, timeout);
}

// A backend option line: checks every 100 ms. `check` is the kind ("" = a TCP connect).
inline std::string fast_checks(const std::string& counts = "rise: 2, fall: 2",
                               const std::string& check = "http: { path: /healthz }")
{
    return "health: { " + (check.empty() ? "" : check + ", ") +
           "interval: 100ms, jitter: 0%, timeout: 500ms, " + counts + " }";
}

// `count` GETs one after another: how many each server answered (by X-Served-By); other
// outcomes count as "status N".
inline std::map<std::string, int> spread(std::uint16_t port, int count,
                                         const std::string& path = "/")
{
    std::map<std::string, int> out;
    for (int i = 0; i < count; ++i) {
        auto r = http_get(port, path);
        auto who = r.status == 200 ? r.headers.value("X-Served-By")
                                   : "status " + std::to_string(r.status);
        ++out[who];
    }
    return out;
}

// sluice_server_state for server appN of backend "app" in `state`.
inline std::string state_metric(const std::string& server, const std::string& state)
{
    return R"(sluice_server_state{backend="app",server=")" + server + R"(",state=")" + state +
           "\"}";
}

inline std::string checks_metric(const std::string& server, const std::string& result)
{
    return R"(sluice_health_checks_total{backend="app",server=")" + server + R"(",result=")" +
           result + "\"}";
}

}  // namespace sluice::test
