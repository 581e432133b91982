#include "config/summary.hpp"

#include "config/loader.hpp"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace sluice::config
