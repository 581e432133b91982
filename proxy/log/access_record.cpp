#include "proxy/log/access_record.hpp"

#include <charconv>
#include <cstdio>
#include <ctime>

namespace sluice::proxy {

void note_cut_by_exit(access_record& r)
{
    r.reason = "proxy_exit";
    if (r.bytes_out == 0) r.status = 503;
}

void append_json_string(std::string& out, std::string_view s)
{
    static constexpr char hex[] = "0123456789abcdef";
    out += '"';
    for (unsigned char c : s) {
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (c < 0x20 || c == 0x7f) {
                out += "\\u00";
                out += hex[c >> 4];
                out += hex[c & 0xf];
            } else {
                out += static_cast<char>(c);
            }
        }
    }
    out += '"';
}

std::string utc_timestamp(std::int64_t unix_ms)
{
    std::time_t secs = unix_ms / 1000;
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[64];  // room for any year gmtime_r can give
    int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                          tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                          static_cast<int>(unix_ms % 1000));
    return std::string(buf, static_cast<std::size_t>(n));
}

namespace {

void append_number(std::string& out, double v)
{
    char buf[32];
    int n = std::snprintf(buf, sizeof buf, "%.3f", v);
    out.append(buf, static_cast<std::size_t>(n));
}

void append_number(std::string& out, std::uint64_t v)
{
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, end);
}

void field(std::string& out, std::string_view key)
{
    out += out.size() == 1 ? "\"" : ",\"";
    out += key;
    out += "\":";
}

}  // namespace

std::string to_json_line(const access_record& r)
{
    std::string out;
    out.reserve(384);
    out += '{';
    field(out, "time"), append_json_string(out, utc_timestamp(r.time_unix_ms));
    field(out, "request_id"), append_json_string(out, r.request_id);
    field(out, "client"), append_json_string(out, r.client);
    field(out, "listener"), append_json_string(out, r.listener);
    field(out, "method"), append_json_string(out, r.method);
    field(out, "path"), append_json_string(out, r.path);
    field(out, "status"), append_number(out, std::uint64_t{r.status});
    field(out, "backend"), append_json_string(out, r.backend);
    field(out, "server"), append_json_string(out, r.server);
    field(out, "queue_ms"), append_number(out, r.queue_ms);
    field(out, "connect_ms"), append_number(out, r.connect_ms);
    field(out, "response_ms"), append_number(out, r.response_ms);
    field(out, "total_ms"), append_number(out, r.total_ms);
    field(out, "body_ms"), append_number(out, r.body_ms);
    field(out, "slot_ms"), append_number(out, r.slot_ms);
    field(out, "bytes_in"), append_number(out, r.bytes_in);
    field(out, "bytes_out"), append_number(out, r.bytes_out);
    field(out, "retries"), append_number(out, std::uint64_t{r.retries});
    field(out, "reason"), append_json_string(out, r.reason);
    if (!r.tls_version.empty()) {
        field(out, "tls_version"), append_json_string(out, r.tls_version);
        field(out, "sni"), append_json_string(out, r.sni);
    }
    out += "}\n";
    return out;
}

}  // namespace sluice::proxy
