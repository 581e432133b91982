#include "config/summary.hpp"

#include "config/loader.hpp"
#include "config/tls_files.hpp"
#include "support/test_certificates.hpp"

#include <gtest/gtest.h>

#include <fstream>

namespace sluice::config {
namespace {

constexpr std::string_view yaml = R"(listeners:
  - name: web
    bind: 0.0.0.0:8080
    routes:
      - match: { path_prefix: /deploy, method: POST }
        backend: deployer
        timeouts: { server: 10m }
    default_backend: app
timeouts: { client_idle: 90s }
backends:
  - name: app
    servers:
      - { name: app1, address: 127.0.0.1:8001, max_connections: 2, keepalive_timeout: 30s }
      - { name: app2, address: "unix:/run/app2.sock", weight: 3 }
  - name: deployer
    balance: roundrobin
    servers: [{ name: d1, address: 127.0.0.1:8100, max_connections: 1 }]
)";

TEST(summary, lists_listeners_routes_servers_and_timeouts)
{
    const auto summary = summarize(load_string(yaml, "t.yaml").config);
    EXPECT_EQ(summary,
              "listeners\n"
              "  web  0.0.0.0:8080  max 10000 connections\n"
              "    /deploy* POST -> deployer (server 10m)\n"
              "    otherwise -> app\n"
              "admin  127.0.0.1:9090\n"
              "backends\n"
              "  app  leastconn, http, queue 1000, pool idle 1.6s\n"
              "    app1  127.0.0.1:8001  max_connections 2  weight 1  keepalive 30s\n"
              "    app2  unix:/run/app2.sock  max_connections none  weight 3  keepalive 2s "
              "(assumed)\n"
              "  deployer  roundrobin, http, queue 1000, pool idle 1.6s\n"
              "    d1  127.0.0.1:8100  max_connections 1  weight 1  keepalive 2s (assumed)\n"
              "timeouts\n"
              "  upstream_idle 1m  client_header 10s  client_idle 1m30s  client_body 1m  "
              "client_send 1m\n"
              "  queue 10s  connect 3s  server 40s  request 0s  tunnel 1h\n"
              "  drain 1m\n");
}

TEST(summary, shows_tls_certificates_proxy_protocol_and_trusted_proxies)
{
    using namespace std::chrono;
    test::scratch_dir dir{"sluice-summary"};
    const auto now = system_clock::now();
    const auto not_after = floor<seconds>(now + days(80) + hours(1));
    const auto site = test::write_self_signed(
        dir.path(), "site", {.names = {"example.com", "www.example.com"}, .not_after = not_after});
    const auto ca = test::write_ca(dir.path(), "ca");
    const auto path = (dir.path() / "sluice.yaml").string();
    std::ofstream(path) << R"(listeners:
  - name: web
    bind: 0.0.0.0:443
    tls:
      certificates: [{ cert: site.crt, key: site.key }]
      ciphers: modern
    proxy_protocol: v2
    trusted_proxies: [10.0.0.0/8, "2001:db8::/32"]
backends:
  - name: app
    servers:
      - { name: a, address: 127.0.0.1:8001, max_connections: 2, keepalive_timeout: 30s,
          tls: { sni: app.internal, ca: ca.crt }, proxy_protocol: v1 }
      - { name: b, address: 127.0.0.1:8002, max_connections: 2, keepalive_timeout: 30s,
          tls: { verify: false } }
)";
    const auto summary = summarize(load_file(path).config, now);
    const auto listeners = summary.substr(0, summary.find("admin"));
    EXPECT_EQ(listeners, "listeners\n"
                         "  web  0.0.0.0:443  max 10000 connections\n"
                         "    tls  min 1.3, ciphers modern, alpn http/1.1\n"
                         "      " +
                             site.cert + "  example.com, www.example.com  expires " +
                             format_utc(not_after) +
                             " (80 days)\n"
                             "    proxy_protocol v2  trusted_proxies 10.0.0.0/8 2001:db8::/32\n"
                             "    otherwise -> app\n");
    const auto servers = summary.substr(summary.find("    a  "),
                                        summary.find("timeouts") - summary.find("    a  "));
    EXPECT_EQ(servers, "    a  127.0.0.1:8001  max_connections 2  weight 1  keepalive 30s\n"
                       "      tls  sni app.internal  ca " +
                           ca.cert +
                           "  verify on\n"
                           "      proxy_protocol v1\n"
                           "    b  127.0.0.1:8002  max_connections 2  weight 1  keepalive 30s\n"
                           "      tls  sni (address host)  ca (system store)  verify OFF\n");
}

}  // namespace
}  // namespace sluice::config
