#include "proxy/event_log.hpp"

#include "proxy/access_log.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <mutex>
#include <string>

namespace sluice::proxy {

namespace {

std::mutex writer_mutex;
std::unique_ptr<access_log> writer;

std::string timestamp()
{
    using namespace std::chrono;
    auto now = system_clock::now();
    std::time_t secs = system_clock::to_time_t(now);
    auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(ms));
    return buf;
}

}  // namespace

void log_event(severity level, std::string_view message)
{
    static constexpr const char* names[] = {"info", "warning", "error"};
    std::string line = timestamp() + " sluice " + names[static_cast<int>(level)] + ": ";
    line += message;
    line += '\n';
    std::lock_guard lock(writer_mutex);
    if (!writer)
        writer = std::make_unique<access_log>(stderr, false);
    writer->write(std::move(line));
}

void flush_event_log()
{
    std::lock_guard lock(writer_mutex);
    writer.reset();  // joins the writer thread after it has written everything
}

}  // namespace sluice::proxy
