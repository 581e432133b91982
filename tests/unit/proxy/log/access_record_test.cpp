#include "proxy/log/access_record.hpp"

#include <gtest/gtest.h>

#include <string>

namespace sluice::proxy {
namespace {

std::string json(std::string_view s)
{
    std::string out;
    append_json_string(out, s);
    return out;
}

TEST(access_record, json_strings_escape_quotes_backslashes_and_every_control_character)
{
    EXPECT_EQ(json("plain /path?a=1"), R"("plain /path?a=1")");
    EXPECT_EQ(json("a\"b\\c"), R"("a\"b\\c")");
    EXPECT_EQ(json("\n\r\t"), R"("\n\r\t")");
    EXPECT_EQ(json(std::string_view("\0\x01\x1f\x7f", 4)), R"("\u0000\u0001\u001f\u007f")");
    EXPECT_EQ(json("caf\xc3\xa9"), "\"caf\xc3\xa9\"");  // UTF-8 passes as it is
}

TEST(access_record, every_field_of_a_line_is_escaped_and_in_the_spec_order)
{
    access_record r;
    r.time_unix_ms = 1'764'000'000'123;
    r.request_id = "id\"1";
    r.client = "127.0.0.1";
    r.listener = "web";
    r.method = "GE\nT";
    r.path = "/a\\b\x01";
    r.status = 499;
    r.backend = "app";
    r.server = "app1";
    r.queue_ms = 1.5;
    r.connect_ms = 0.25;
    r.response_ms = 2;
    r.total_ms = 10.125;
    r.body_ms = 3;
    r.slot_ms = 4.5;
    r.bytes_in = 10;
    r.bytes_out = 20;
    r.retries = 1;
    r.reason = "client_gone";
    EXPECT_EQ(to_json_line(r),
              R"({"time":"2025-11-24T16:00:00.123Z","request_id":"id\"1","client":"127.0.0.1",)"
              R"("listener":"web","method":"GE\nT","path":"/a\\b\u0001","status":499,)"
              R"("backend":"app","server":"app1","queue_ms":1.500,"connect_ms":0.250,)"
              R"("response_ms":2.000,"total_ms":10.125,"body_ms":3.000,"slot_ms":4.500,)"
              R"("bytes_in":10,"bytes_out":20,"retries":1,"reason":"client_gone"})"
              "\n");
}

TEST(access_record, a_request_the_exit_cut_is_the_proxys_503_unless_the_client_had_a_status)
{
    access_record unanswered;
    unanswered.status = 502;
    unanswered.reason = "tls_handshake_failed";
    note_cut_by_exit(unanswered);
    EXPECT_EQ(unanswered.status, 503u);
    EXPECT_EQ(unanswered.reason, "proxy_exit");

    access_record half_sent;
    half_sent.status = 200;
    half_sent.bytes_out = 1061;
    half_sent.reason = "server_reset";
    note_cut_by_exit(half_sent);
    EXPECT_EQ(half_sent.status, 200u);
    EXPECT_EQ(half_sent.reason, "proxy_exit");
}

TEST(access_record, timestamps_are_utc_with_milliseconds)
{
    EXPECT_EQ(utc_timestamp(0), "1970-01-01T00:00:00.000Z");
    EXPECT_EQ(utc_timestamp(1'764'000'000'123), "2025-11-24T16:00:00.123Z");
}

}  // namespace
}  // namespace sluice::proxy
