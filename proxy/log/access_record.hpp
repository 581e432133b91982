#pragma once
// One access-log line: what happened to one request, as SPEC.md "Nothing is lost silently" lists.
// Pure: formatting only; the writer thread lives in access_log.

#include <cstdint>
#include <string>
#include <string_view>

namespace sluice::proxy {

// The views point into the request being served, which outlives its record.
struct access_record {
    std::int64_t time_unix_ms = 0;  // when the request head arrived
    std::string_view request_id;
    std::string_view client;
    std::string_view listener;
    std::string_view method;
    std::string_view path;
    unsigned status = 0;
    std::string_view backend;
    std::string_view server;
    double queue_ms = 0, connect_ms = 0, response_ms = 0, total_ms = 0;
    double body_ms = 0;  // receiving the request body, when the proxy read it whole first
    double slot_ms = 0;  // holding a server slot: a worker's time, without a slow client's
    std::uint64_t bytes_in = 0, bytes_out = 0;
    unsigned retries = 0;
    std::string_view reason;            // "" when the backend answered normally
    std::string_view tls_version, sni;  // on TLS listeners only
};

// A request whose sockets the proxy's exit closed (timeouts.drain ran out, or a second stop
// signal): whatever failure the session then saw was the proxy's doing, not the server's or the
// client's. Reason `proxy_exit`; status 503 when the client had received nothing, else the
// status it had.
void note_cut_by_exit(access_record& r);

// "2026-11-25T18:37:10.123Z": the time format of both logs.
std::string utc_timestamp(std::int64_t unix_ms);

// One JSON object and a newline.
std::string to_json_line(const access_record& r);

// Appends `s` as a JSON string literal (quotes included) with every control character escaped.
void append_json_string(std::string& out, std::string_view s);

}  // namespace sluice::proxy
