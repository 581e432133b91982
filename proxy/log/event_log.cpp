#include "proxy/log/event_log.hpp"

#include "proxy/log/access_log.hpp"
#include "proxy/log/access_record.hpp"

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

namespace sluice::proxy {

namespace {

std::mutex writer_mutex;
std::unique_ptr<access_log> writer;

}  // namespace

void log_event(severity level, std::string_view message)
{
    static constexpr const char* names[] = {"info", "warning", "error"};
    std::string line = utc_timestamp(unix_ms_now()) + " sluice " + names[static_cast<int>(level)] +
                       ": ";
    line += message;
    line += '\n';
    std::lock_guard lock(writer_mutex);
    if (!writer) writer = std::make_unique<access_log>(stderr, false);
    writer->write(std::move(line));
}

std::int64_t unix_ms_now()
{
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

void flush_event_log()
{
    std::lock_guard lock(writer_mutex);
    writer.reset();  // joins the writer thread after it has written everything
}

}  // namespace sluice::proxy
