// SIGTERM/SIGINT drain as a load balancer, a client and systemd see it (issue 7): /healthz says
// draining at once while requests are still served for admin.drain_notice; then no new
// connections, Connection: close on every response, idle connections closed, in-flight requests
// finished; at timeouts.drain queued ones answered 503, the rest cut and logged as the exit's;
// exit 0; a second signal exits at once.

#include "integration/polling.hpp"
#include "support/http_client.hpp"
#include "support/loopback.hpp"
#include "support/proxy_config.hpp"
#include "support/scripted_backend.hpp"
#include "support/sluice_process.hpp"

#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <memory>

namespace sluice::test {
namespace {

// proxy_config writes the admin map itself; the notice goes under it.
std::string with_drain_notice(const proxy_config& config, const std::string& notice)
{
    auto yaml = config.yaml();
    const std::string admin = "admin:\n  bind: 127.0.0.1:0\n";
    yaml.insert(yaml.find(admin) + admin.size(), "  drain_notice: " + notice + "\n");
    return yaml;
}

// "/slow" is answered once `release` is set (or after 10 s, so a failing test still ends); every
// other path at once.
backend_options slow_until(const std::atomic<bool>& release)
{
    return {.handler = [&release](const recorded_request& r) {
        if (r.target == "/slow") eventually([&] { return release.load(); });
        return reply{.body = "done"};
    }};
}

// A request written now on its own connection, its answer read later.
std::unique_ptr<connection> started(std::uint16_t port, const std::string& path)
{
    auto c = std::make_unique<connection>(port);
    c->send_raw("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    return c;
}

response healthz(const sluice_process& proxy) { return http_get(proxy.admin_port(), "/healthz"); }

bool closes(const response& r) { return iequals(r.headers.value("Connection"), "close"); }

TEST(drain, in_flight_requests_finish_while_healthz_says_draining_then_exit_0)
{
    std::atomic<bool> release{false};
    scripted_backend app{slow_until(release)};
    sluice_process proxy{with_drain_notice(config_for(app).timeout("drain", "10s"), "800ms")};
    const auto port = proxy.port();
    std::vector<std::unique_ptr<connection>> in_flight;
    for (int i = 0; i < 3; ++i) in_flight.push_back(started(port, "/slow"));
    ASSERT_TRUE(app.wait_for_requests(3));

    const auto signalled = steady::now();
    proxy.send_signal(SIGTERM);
    response h;
    ASSERT_TRUE(eventually([&] { return (h = healthz(proxy)).status == 503; }, 5s)) << h.status;
    EXPECT_EQ(h.body, "draining\n");
    auto during = http_get(port, "/fast");
    EXPECT_EQ(during.status, 200) << during.error;
    EXPECT_LT(since(signalled), 800ms) << "the notice was over before the check";

    ASSERT_TRUE(proxy.wait_stderr("no longer accepting")) << proxy.stderr_text();
    EXPECT_GE(since(signalled), 750ms) << "stopped accepting before admin.drain_notice";
    EXPECT_NE(request(port, {.path = "/late", .timeout = 1s}).status, 200)
        << "a new connection was served after the notice";
    release = true;
    for (auto& c : in_flight) {
        auto r = c->read_response();
        EXPECT_EQ(r.status, 200) << r.error;
        EXPECT_TRUE(closes(r)) << "no Connection: close after the notice";
        EXPECT_TRUE(c->wait_closed(5s));
    }
    EXPECT_EQ(proxy.wait_exit(10s), 0) << proxy.stderr_text();
    EXPECT_NE(proxy.stderr_text().find("drained: every connection has closed"), std::string::npos)
        << proxy.stderr_text();
}

TEST(drain, idle_keep_alive_connections_are_closed_when_the_notice_ends)
{
    std::atomic<bool> release{false};
    scripted_backend app{slow_until(release)};
    sluice_process proxy{with_drain_notice(config_for(app).timeout("drain", "10s"), "500ms")};
    connection idle{proxy.port()};
    ASSERT_EQ(idle.send({}).status, 200);
    auto held = started(proxy.port(), "/slow");  // keeps the proxy draining, not gone
    ASSERT_TRUE(app.wait_for_requests(2));

    proxy.send_signal(SIGTERM);
    ASSERT_TRUE(proxy.wait_stderr("draining:")) << proxy.stderr_text();
    auto served = idle.send({});  // still an ordinary keep-alive connection during the notice
    EXPECT_EQ(served.status, 200) << served.error;
    EXPECT_FALSE(closes(served)) << "Connection: close already during the notice";
    EXPECT_TRUE(idle.wait_closed(5s)) << "the idle connection stayed open after the notice";
    EXPECT_TRUE(proxy.running()) << "exited with a request in flight";

    release = true;
    EXPECT_EQ(held->read_response().status, 200);
    EXPECT_EQ(proxy.wait_exit(10s), 0) << proxy.stderr_text();
}

TEST(drain, requests_still_queued_at_the_drain_limit_get_503_draining)
{
    scripted_backend app{{.workers = 1, .reply_after = 3s}};
    auto cfg = proxy_config{}
                   .backend("app", {app.address()}, {"server_defaults: { max_connections: 1 }"})
                   .timeout("drain", "1s");
    sluice_process proxy{cfg};
    auto busy = started(proxy.port(), "/busy");
    ASSERT_TRUE(app.wait_for_requests(1));
    std::vector<std::unique_ptr<connection>> queued;
    for (int i = 0; i < 2; ++i)
        queued.push_back(started(proxy.port(), "/queued" + std::to_string(i)));
    ASSERT_TRUE(proxy.wait_metric(R"(sluice_queue_length{backend="app"})", 2) == 2);

    const auto signalled = steady::now();
    proxy.send_signal(SIGTERM);
    for (auto& c : queued) {
        auto r = c->read_response();
        EXPECT_EQ(r.status, 503) << r.error;
        EXPECT_TRUE(closes(r));
        EXPECT_NE(r.body.find("draining"), std::string::npos) << r.body;
    }
    EXPECT_GE(since(signalled), 900ms) << "queued requests refused before timeouts.drain";
    EXPECT_EQ(proxy.wait_exit(10s), 0) << proxy.stderr_text();
    std::size_t refused = 0;
    for (const auto& line : proxy.access_log())
        if (line["path"].rfind("/queued", 0) == 0) {
            EXPECT_EQ(line.number("status"), 503) << line.text();
            EXPECT_EQ(line["reason"], "draining") << line.text();
            ++refused;
        }
    EXPECT_EQ(refused, 2u);
    EXPECT_EQ(app.request_count(), 1u);
}

// Two servers that take connections (the kernel accepts them) and never answer: a plain one, and
// one whose TLS handshake never ends. The requests in flight at timeouts.drain are cut by the exit,
// which is the proxy's doing: logged as such, not as a server reset or a failed handshake.
TEST(drain, requests_cut_at_the_drain_limit_are_logged_as_the_proxys_exit)
{
    std::uint16_t plain_port = 0, tls_port = 0;
    const int plain = listen_loopback(plain_port), tls = listen_loopback(tls_port);
    auto cfg = proxy_config{}
                   .backend("app", {"127.0.0.1:" + std::to_string(plain_port)})
                   .backend("secure", {"127.0.0.1:" + std::to_string(tls_port)},
                            {"server_defaults: { tls: { verify: false } }"})
                   .route("{ path_prefix: /secure }", "secure")
                   .timeout("drain", "500ms");
    sluice_process proxy{cfg};
    auto to_plain = started(proxy.port(), "/plain");
    auto to_tls = started(proxy.port(), "/secure");
    EXPECT_EQ(proxy.wait_metric(R"(sluice_server_in_flight{backend="app",server="app1"})", 1), 1);
    EXPECT_EQ(proxy.wait_metric(R"(sluice_server_in_flight{backend="secure",server="secure1"})", 1),
              1);

    proxy.send_signal(SIGTERM);
    EXPECT_EQ(proxy.wait_exit(10s), 0) << proxy.stderr_text();
    EXPECT_TRUE(to_plain->wait_closed(1s));
    EXPECT_TRUE(to_tls->wait_closed(1s));
    const auto log = proxy.access_log();
    ASSERT_EQ(log.size(), 2u);
    for (const auto& line : log) {
        EXPECT_EQ(line.number("status"), 503) << line.text();
        EXPECT_EQ(line["reason"], "proxy_exit") << line.text();
    }
    ::close(plain);
    ::close(tls);
}

TEST(drain, a_second_stop_signal_exits_at_once)
{
    std::atomic<bool> release{false};
    scripted_backend app{slow_until(release)};
    sluice_process proxy{config_for(app).timeout("drain", "30s")};
    auto held = started(proxy.port(), "/slow");
    ASSERT_TRUE(app.wait_for_requests(1));

    proxy.send_signal(SIGTERM);
    ASSERT_TRUE(proxy.wait_stderr("no longer accepting")) << proxy.stderr_text();
    EXPECT_FALSE(proxy.wait_exit(300ms)) << "exited with a request in flight";
    const auto second = steady::now();
    proxy.send_signal(SIGTERM);
    EXPECT_TRUE(proxy.wait_exit(3s)) << proxy.stderr_text();
    EXPECT_LT(since(second), 2s);
    EXPECT_NE(proxy.stderr_text().find("second stop signal: exiting now, without waiting"),
              std::string::npos)
        << proxy.stderr_text();
    release = true;
}

// A unix datagram socket standing in for systemd's $NOTIFY_SOCKET.
class notify_socket {
public:
    explicit notify_socket(std::string path) : path_{std::move(path)}
    {
        fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, path_.c_str(), sizeof addr.sun_path - 1);
        bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    }
    ~notify_socket() { ::close(fd_); }
    notify_socket(const notify_socket&) = delete;
    notify_socket& operator=(const notify_socket&) = delete;

    bool bound() const { return bound_; }
    const std::string& path() const { return path_; }

    // The next datagram, or "" when none arrives within `timeout`.
    std::string next(millis timeout = 10s)
    {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return "";
        char buf[4096];
        auto n = ::recv(fd_, buf, sizeof buf, 0);
        return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "";
    }

private:
    std::string path_;
    int fd_ = -1;
    bool bound_ = false;
};

// Sets an environment variable for the children started in its lifetime.
class scoped_env {
public:
    scoped_env(const char* name, const std::string& value) : name_{name}
    {
        ::setenv(name, value.c_str(), 1);
    }
    ~scoped_env() { ::unsetenv(name_); }
    scoped_env(const scoped_env&) = delete;
    scoped_env& operator=(const scoped_env&) = delete;

private:
    const char* name_;
};

bool has_line(const std::string& datagram, const std::string& line)
{
    return ("\n" + datagram + "\n").find("\n" + line + "\n") != std::string::npos;
}

TEST(drain, systemd_hears_ready_reloading_and_stopping)
{
    temp_dir dir;
    notify_socket systemd{dir.file("notify")};
    ASSERT_TRUE(systemd.bound()) << std::strerror(errno);
    scripted_backend app;
    auto proxy = [&] {
        scoped_env env{"NOTIFY_SOCKET", systemd.path()};
        return std::make_unique<sluice_process>(config_for(app));
    }();
    auto ready = systemd.next();
    EXPECT_TRUE(has_line(ready, "READY=1")) << "got '" << ready << "'";
    EXPECT_EQ(http_get(proxy->port()).status, 200);

    proxy->send_signal(SIGHUP);
    auto reloading = systemd.next();
    EXPECT_TRUE(has_line(reloading, "RELOADING=1")) << "got '" << reloading << "'";
    auto ready_again = systemd.next();
    EXPECT_TRUE(has_line(ready_again, "READY=1")) << "got '" << ready_again << "'";
    EXPECT_TRUE(proxy->wait_stderr("reloaded ")) << proxy->stderr_text();

    proxy->send_signal(SIGTERM);
    auto stopping = systemd.next();
    EXPECT_TRUE(has_line(stopping, "STOPPING=1")) << "got '" << stopping << "'";
    EXPECT_EQ(proxy->wait_exit(10s), 0) << proxy->stderr_text();
}

}  // namespace
}  // namespace sluice::test
