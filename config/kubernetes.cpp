#include "config/kubernetes.hpp"

#include "config/admin_rules.hpp"
#include "config/units.hpp"

#include <algorithm>

namespace sluice::config {
namespace {

// Probes read answers the admin thread computes off the request path, so a short timeout is
// enough; readiness reacts within ~10 s (a backend without a server up), liveness restarts sluice
// only after ~30 s of event loops not answering (a reload or a burst never gets that far).
const kubernetes_probe readiness_probe{"/readyz", 0, 5, 2, 2};
const kubernetes_probe liveness_probe{"/livez", 0, 10, 2, 3};

// After timeouts.drain the requests still queued get a 503; this long is left for those answers.
constexpr duration last_answers = 250ms;

unsigned ceil_seconds(duration d) { return static_cast<unsigned>((d.count() + 999) / 1000); }

bool loopback(const endpoint& e) { return e.type == endpoint::kind::tcp && local_only(e); }

void add_listener_ports(const root& cfg, kubernetes_values& v)
{
    for (const auto& l : cfg.listeners) {
        if (l.bind.type == endpoint::kind::unix_socket) {
            v.notes.push_back("listener " + l.name + " binds " + l.bind.text +
                              ": a unix socket gets no container port; only containers sharing "
                              "the socket's volume reach it");
            continue;
        }
        if (loopback(l.bind))
            v.notes.push_back("listener " + l.name + " binds " + l.bind.text +
                              ": a Service cannot reach a loopback address; bind 0.0.0.0:" +
                              std::to_string(l.bind.port));
        const bool taken = std::any_of(v.ports.begin(), v.ports.end(),
                                       [&](const auto& p) { return p.number == l.bind.port; });
        if (taken) continue;  // two listeners on one port (different hosts): one container port
        auto name = kubernetes_port_name(l.name, "http-" + std::to_string(l.bind.port));
        const bool name_taken = name == "admin" ||
                                std::any_of(v.ports.begin(), v.ports.end(),
                                            [&](const auto& p) { return p.name == name; });
        if (name_taken) name = "http-" + std::to_string(l.bind.port);
        v.ports.push_back({name, l.bind.port});
    }
}

void add_admin(const root& cfg, kubernetes_values& v)
{
    const auto& bind = cfg.admin.bind;
    if (bind.type == endpoint::kind::unix_socket) {
        v.notes.push_back("admin.bind is " + bind.text +
                          ": the kubelet's probes and Prometheus cannot reach a unix socket, so "
                          "no probe is printed; bind 0.0.0.0:9090 with admin.token_file");
        return;
    }
    v.ports.push_back({"admin", bind.port});
    v.readiness = readiness_probe;
    v.readiness->port = bind.port;
    v.liveness = liveness_probe;
    v.liveness->port = bind.port;
    if (loopback(bind))
        v.notes.push_back("admin.bind is " + bind.text +
                          ": the kubelet's probes, Prometheus and a load balancer's /healthz "
                          "check come from outside the pod and cannot reach it; bind 0.0.0.0:" +
                          std::to_string(bind.port) + " with admin.token_file (from a Secret)");
    else if (!cfg.admin.token_file.empty())
        v.notes.push_back("admin.token_file is " + cfg.admin.token_file +
                          " (relative to the config file): mount it from a Secret, e.g. a "
                          "projected volume holding the ConfigMap and the Secret together");
}

}  // namespace

std::string kubernetes_port_name(std::string_view name, std::string_view fallback)
{
    std::string out;
    for (char c : name) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (ok)
            out += c;
        else if (!out.empty() && out.back() != '-')
            out += '-';  // anything else becomes one hyphen, never two in a row
    }
    if (out.size() > 15) out.resize(15);
    while (!out.empty() && out.back() == '-') out.pop_back();
    const bool has_letter = std::any_of(out.begin(), out.end(),
                                        [](char c) { return c >= 'a' && c <= 'z'; });
    return has_letter ? out : std::string(fallback);
}

kubernetes_values kubernetes_values_for(const root& cfg)
{
    kubernetes_values v;
    add_listener_ports(cfg, v);
    add_admin(cfg, v);
    v.drain_seconds = ceil_seconds(cfg.admin.drain_notice + cfg.timeouts.drain + last_answers);
    v.app_pre_stop_sleep_seconds = v.drain_seconds;
    v.termination_grace_period_seconds = v.drain_seconds + kubernetes_exit_margin_seconds;
    if (cfg.admin.drain_notice == 0s)
        v.notes.push_back(
            "admin.drain_notice is 0s: Kubernetes takes the pod out of its Services' endpoints "
            "while it sends SIGTERM, and kube-proxy and ingress controllers see that a few "
            "seconds later; until then new connections would be refused. Set admin.drain_notice "
            "to 10s, or to a cloud load balancer's check interval x fall on /healthz");
    return v;
}

namespace {

// `text` as YAML comment lines of at most 100 columns, the first starting with `first`.
std::string comment(std::string_view first, std::string_view text)
{
    std::string out, line = "# " + std::string(first);
    while (!text.empty()) {
        const auto end = text.find(' ');
        const auto word = text.substr(0, end);
        text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
        if (line.size() > 2 && line.back() != ' ' && line.size() + 1 + word.size() > 100) {
            out += line + "\n";
            line = "#  ";
        }
        if (line.back() != ' ') line += ' ';
        line += word;
    }
    return out + line + "\n";
}

std::string probe_yaml(std::string_view key, const kubernetes_probe& p)
{
    return "    " + std::string(key) + ":\n      httpGet: { path: " + p.path +
           ", port: " + std::to_string(p.port) +
           " }\n      periodSeconds: " + std::to_string(p.period_seconds) +
           "\n      timeoutSeconds: " + std::to_string(p.timeout_seconds) +
           "\n      failureThreshold: " + std::to_string(p.failure_threshold) + "\n";
}

std::string sluice_container(const root& cfg, const kubernetes_values& v)
{
    std::string out = "  - name: sluice\n    ports:\n";
    for (const auto& p : v.ports)
        out += "      - { name: " + p.name + ", containerPort: " + std::to_string(p.number) +
               ", protocol: TCP }\n";
    if (v.readiness)
        out += "    # /readyz: 200 once the config is loaded and every backend has a server up\n" +
               probe_yaml("readinessProbe", *v.readiness);
    if (v.liveness)
        out += "    # /livez: 200 while the event loops answer (heartbeat lag under 1 s)\n" +
               probe_yaml("livenessProbe", *v.liveness);
    out += "    # No lifecycle.preStop: at SIGTERM sluice answers /healthz 503 draining and serves "
           "on\n    # for admin.drain_notice (" +
           format_duration(cfg.admin.drain_notice) +
           ") while the endpoints update, then drains; a preStop sleep\n"
           "    # would only hold /healthz at \"free\" and delay the drain by as much.\n";
    return out;
}

}  // namespace

std::string format_kubernetes(const root& cfg, const kubernetes_values& v)
{
    std::string out =
        "# sluice check --kubernetes: the pod template's spec (a Deployment's spec.template.spec)\n"
        "# that agrees with " +
        cfg.source +
        ". The containers are named as in deploy/kubernetes/,\n"
        "# so this also applies as a kustomize patch.\n"
        "# admin.drain_notice " +
        format_duration(cfg.admin.drain_notice) + " + timeouts.drain " +
        format_duration(cfg.timeouts.drain) +
        " + 250ms for the last 503s = " + std::to_string(v.drain_seconds) + "s, + " +
        std::to_string(kubernetes_exit_margin_seconds) + "s to exit:\n" +
        "terminationGracePeriodSeconds: " + std::to_string(v.termination_grace_period_seconds) +
        "\ncontainers:\n" + sluice_container(cfg, v) +
        "  # Sidecar layout only: the app server beside sluice gets SIGTERM once sluice has "
        "drained,\n  # so no request sluice still holds finds its port closed (needs `sleep` in "
        "the image).\n  - name: app\n    lifecycle:\n      preStop:\n        exec: { command: "
        "[sleep, \"" +
        std::to_string(v.app_pre_stop_sleep_seconds) + "\"] }\n";
    if (v.readiness)
        out += "# A Service's or cloud load balancer's health check: GET /healthz on port " +
               std::to_string(v.readiness->port) +
               "\n# (200 free, 503 busy or draining), answered off the worker pool.\n";
    for (const auto& n : v.notes) out += comment("note:", n);
    return out;
}

}  // namespace sluice::config
