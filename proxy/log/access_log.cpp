#include "proxy/log/access_log.hpp"

#include "net/thread_signals.hpp"

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace sluice::proxy {

std::unique_ptr<access_log> access_log::open(const config::access_log& cfg)
{
    switch (cfg.type) {
    case config::access_log::kind::off: return nullptr;
    case config::access_log::kind::stdout_stream:
        return std::make_unique<access_log>(stdout, false);
    case config::access_log::kind::file: break;
    }
    std::FILE* f = std::fopen(cfg.path.c_str(), "a");
    if (!f)
        throw std::runtime_error("access_log: cannot open " + cfg.path +
                                 " for appending: " + std::strerror(errno) +
                                 "; check the directory exists and is writable, or use stdout");
    return std::make_unique<access_log>(f, true);
}

access_log::access_log(std::FILE* out, bool owns) : out_(out), owns_(owns)
{
    writer_ = net::thread_without_stop_signals([this] { run(); });
}

access_log::~access_log()
{
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_one();
    writer_.join();
    if (owns_) std::fclose(out_);
}

void access_log::write(std::string line)
{
    bool was_empty;
    {
        std::lock_guard lock(mutex_);
        if (pending_.size() + line.size() > max_buffered_bytes) {
            dropped_.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        was_empty = pending_.empty();
        pending_ += line;
    }
    if (was_empty) wake_.notify_one();
}

void access_log::run()
{
    std::string batch;
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
            if (pending_.empty() && stopping_) return;
            batch.swap(pending_);
        }
        std::fwrite(batch.data(), 1, batch.size(), out_);
        std::fflush(out_);
        batch.clear();
    }
}

}  // namespace sluice::proxy
