#include "config/loader.hpp"

namespace sluice::config {

// What `sluice run` serves without -c: a safe local setup in front of gunicorn's default address.
// max_connections stays 0 because the worker count is unknown here; `sluice check` says so.
std::string_view default_config_yaml()
{
    return R"(threads: auto
access_log: stdout

listeners:
  - name: web
    bind: 127.0.0.1:8080
    default_backend: app

admin:
  bind: 127.0.0.1:9090

backends:
  - name: app
    balance: leastconn
    server_defaults:
      max_connections: 0
    servers:
      - { name: app1, address: 127.0.0.1:8000 }
)";
}

}  // namespace sluice::config
