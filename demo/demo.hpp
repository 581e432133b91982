#pragma once
// `sluice demo`: the proxy in front of two built-in demo app servers, for a first look.

namespace sluice::proxy {

// Serves until Ctrl-C; returns the exit code.
int run_demo();

}  // namespace sluice::proxy
