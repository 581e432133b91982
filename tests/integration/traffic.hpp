#pragma once
// Steady load for integration tests that change things under traffic (servers found by DNS,
// the edge share's instance count): clients sending GETs back to back until stopped, every
// answer that is not a 200 kept for the assertion.

#include "support/http_client.hpp"

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace sluice::test {

// Clients sending GETs to one instance back to back, each on its own thread, until stopped.
class traffic {
public:
    traffic(std::uint16_t port, int clients)
    {
        for (int i = 0; i < clients; ++i)
            threads_.emplace_back([this, port] {
                while (!stopping_) record(http_get(port, "/"));
            });
    }
    ~traffic() { stop(); }
    traffic(const traffic&) = delete;
    traffic& operator=(const traffic&) = delete;

    // Lets each client finish the request it is in, then returns.
    void stop()
    {
        stopping_ = true;
        for (auto& t : threads_)
            if (t.joinable()) t.join();
    }
    std::size_t answered() const
    {
        std::lock_guard lock(mutex_);
        return answered_;
    }
    // Each response other than a 200: its status and error.
    std::vector<std::string> failures() const
    {
        std::lock_guard lock(mutex_);
        return failures_;
    }

private:
    void record(const response& r)
    {
        std::lock_guard lock(mutex_);
        ++answered_;
        if (r.status != 200)
            failures_.push_back(std::to_string(r.status) + " " + r.error + " " + r.body);
    }

    std::atomic<bool> stopping_{false};
    mutable std::mutex mutex_;
    std::size_t answered_ = 0;           // guarded by mutex_
    std::vector<std::string> failures_;  // guarded by mutex_
    std::vector<std::thread> threads_;
};

}  // namespace sluice::test
