#pragma once
// A sluice YAML config for tests, built from scripted backends: one listener "web" on
// 127.0.0.1:0, admin on 127.0.0.1:0, the access log in {dir}/access.log, and the backends and
// options a test names. Values are YAML text, written as in SPEC.md.
//
//   auto cfg = config_for(app).timeout("server", "300ms").limits("{ max_body: 1k }");
//   cfg.backend("other", {b.address()}, {"balance: roundrobin"})
//      .route("{ path_prefix: /other }", "other");

#include <string>
#include <utility>
#include <vector>

namespace sluice::test {

class scripted_backend;

class proxy_config {
public:
    proxy_config();

    // A backend with servers NAME1, NAME2, ... at `addresses`; `options` are lines under it
    // ("balance: roundrobin", "server_defaults: { max_connections: 1 }").
    proxy_config& backend(std::string name, std::vector<std::string> addresses,
                          std::vector<std::string> options = {});
    // ("server", "300ms"); set by default: upstream_idle 0s, drain 2s.
    proxy_config& timeout(std::string key, std::string value);
    proxy_config& limits(std::string flow_map);       // "{ max_header: 4k }"
    proxy_config& bind(std::string address);          // the listener's bind
    proxy_config& listener_option(std::string line);  // "max_connections: 2"
    proxy_config& route(std::string match_flow_map, std::string backend);
    proxy_config& top_level(std::string line);  // "threads: 1"
    proxy_config& default_backend(std::string name);

    std::string yaml() const;

private:
    struct backend_spec {
        std::string name;
        std::vector<std::string> addresses, options;
    };
    std::vector<backend_spec> backends_;
    std::vector<std::pair<std::string, std::string>> timeouts_, routes_;
    std::vector<std::string> listener_options_, top_level_;
    std::string bind_ = "127.0.0.1:0";
    std::string limits_;
    std::string default_backend_;
};

// A config whose default backend "app" has one server per backend given (app1, app2, ...).
proxy_config config_for(const scripted_backend& app);
proxy_config config_for(const std::vector<const scripted_backend*>& servers);

}  // namespace sluice::test
