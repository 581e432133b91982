#pragma once
// `sluice check --kubernetes`: the pod-spec values that agree with a config (SPEC.md "Several
// sluice instances"), printed as a pod template's spec an operator pastes or applies as a patch.
//
// How they follow from sluice's drain (proxy/runtime/lifecycle.cpp): at SIGTERM sluice answers
// /healthz 503 draining and keeps serving for admin.drain_notice, then stops accepting and lets
// requests in flight finish within timeouts.drain (requests still queued then get a 503, with
// 250 ms for those answers to go out), and exits. Kubernetes removes the pod from its Services'
// endpoints at the same moment it sends SIGTERM, so drain_notice already is the wait a preStop
// sleep usually provides: the sluice container gets no preStop (one would hold /healthz at "free"
// and delay the drain by as much). The app server beside it in the sidecar layout must outlive
// that drain, or sluice would pass queued requests to a closed port: its preStop sleeps until
// sluice is done. terminationGracePeriodSeconds covers all of it plus a margin for exiting.

#include "config/model.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sluice::config {

struct kubernetes_port {
    std::string name;  // a valid Kubernetes port name: [a-z0-9-], at most 15, at least one letter
    std::uint16_t number = 0;
};

struct kubernetes_probe {
    std::string path;
    std::uint16_t port = 0;
    unsigned period_seconds = 0;
    unsigned timeout_seconds = 0;
    unsigned failure_threshold = 0;
};

struct kubernetes_values {
    std::vector<kubernetes_port> ports;  // each TCP listener's port, then the admin port
    // Absent when admin.bind is a unix socket: the kubelet has no HTTP way in.
    std::optional<kubernetes_probe> readiness;  // /readyz: config loaded, a server up per backend
    std::optional<kubernetes_probe> liveness;   // /livez: the event loops answer
    // The longest sluice takes from SIGTERM to exit: drain_notice + drain + 250 ms, rounded up.
    unsigned drain_seconds = 0;
    // The app container's preStop sleep (sidecar layout): it gets SIGTERM once sluice is done.
    unsigned app_pre_stop_sleep_seconds = 0;
    unsigned termination_grace_period_seconds = 0;  // drain_seconds + exit margin
    std::vector<std::string> notes;  // what the pod cannot fix: one sentence each, with the fix
};

// Seconds added to the drain for processes to exit (sluice's threads; gunicorn, idle by then).
inline constexpr unsigned kubernetes_exit_margin_seconds = 5;

// `name` as a Kubernetes port name (IANA service name rules), or `fallback` if nothing is left.
std::string kubernetes_port_name(std::string_view name, std::string_view fallback);

kubernetes_values kubernetes_values_for(const root& cfg);

// YAML: the pod template's spec (containers "sluice" and, for the sidecar layout, "app") with
// comments saying why each value is what it is, then the notes as comments.
std::string format_kubernetes(const root& cfg, const kubernetes_values& values);

}  // namespace sluice::config
