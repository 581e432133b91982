#pragma once
// The running proxy: event-loop threads, listeners, the current config snapshot, signals.
//
// Threads: one worker per `threads` (an io_context each; a connection stays on its worker), and
// the control thread (the caller of run()) that handles signals. Config snapshots are built on the
// control thread and handed to each worker by asio::post, so workers read theirs without locks.

#include "config/model.hpp"

#include <functional>
#include <memory>
#include <string>

namespace sluice::proxy {

class runtime {
public:
    // Binds every listener; throws std::runtime_error with the reason when one cannot bind.
    // `allow_chain_errors`: a reload whose timeout chain has an error is applied (and logged)
    // instead of refused, as `run --allow-chain-errors` started.
    runtime(config::root cfg, std::string config_path, bool allow_chain_errors = false);
    ~runtime();

    // Serves until SIGTERM or SIGINT; returns the process exit code.
    int run();

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace sluice::proxy
