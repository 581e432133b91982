#pragma once
// The plain-text overview `sluice check` prints before its findings: what listens where (with
// TLS: each certificate's names and expiry, read from its file; the PROXY protocol and trusted
// proxies), which routes lead to which backend, each server's limits, TLS and PROXY protocol,
// and the global timeouts.

#include "config/model.hpp"

#include <chrono>
#include <string>

namespace sluice::config {

// `now` counts the days left on each certificate.
std::string summarize(const root& config,
                      std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

}  // namespace sluice::config
