#pragma once
// The access log's writer: event loops hand it finished lines and never block on the file.
// Lines wait in a bounded buffer that one writer thread flushes; when the buffer is full
// (the disk or the pipe cannot keep up) new lines are dropped and counted, never waited for.

#include "config/model.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace sluice::proxy {

class access_log {
public:
    // nullptr when the log is off. Throws std::runtime_error when the file cannot be opened.
    static std::unique_ptr<access_log> open(const config::access_log& cfg);
    explicit access_log(std::FILE* out, bool owns);
    ~access_log();

    void write(std::string line);
    std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

private:
    void run();

    static constexpr std::size_t max_buffered_bytes = 8 << 20;
    std::FILE* out_;
    bool owns_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::string pending_;
    bool stopping_ = false;
    std::atomic<std::uint64_t> dropped_{0};
    std::thread writer_;
};

}  // namespace sluice::proxy
