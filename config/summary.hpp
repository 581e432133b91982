#pragma once
// The plain-text overview `sluice check` prints before its findings: what listens where, which
// routes lead to which backend, each server's limits, and the global timeouts.

#include "config/model.hpp"

#include <string>

namespace sluice::config {

std::string summarize(const root& config);

}  // namespace sluice::config
