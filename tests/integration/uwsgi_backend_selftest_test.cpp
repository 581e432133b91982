// The uwsgi test backend against hand-built packets, without the proxy: the uwsgi integration
// tests mean something only if it reads the protocol as uWSGI does.

#include "support/uwsgi_backend.hpp"

#include "support/http_client.hpp"
#include "support/sluice_process.hpp"

#include <gtest/gtest.h>

namespace sluice::test {
namespace {

using namespace std::string_literals;

// One uwsgi var a line: name size, name, value size, value.
// clang-format off
const auto get_hello =
    "\x00\x28\x00\x00"  // modifier1 0, datasize 40 little-endian, modifier2 0
    "\x0e\x00" "REQUEST_METHOD" "\x03\x00" "GET"
    "\x09\x00" "PATH_INFO" "\x06\x00" "/hello"s;

const auto post_up_hello =
    "\x00\x39\x00\x00"  // datasize 57
    "\x0e\x00" "REQUEST_METHOD" "\x04\x00" "POST"
    "\x09\x00" "PATH_INFO" "\x03\x00" "/up"
    "\x0e\x00" "CONTENT_LENGTH" "\x01\x00" "5"
    "hello"s;
// clang-format on

TEST(uwsgi_backend, answers_a_packet_with_raw_http_and_closes)
{
    uwsgi_backend app;
    EXPECT_EQ(app.address(), "127.0.0.1:" + std::to_string(app.port()));
    auto raw = raw_exchange(app.port(), get_hello);
    EXPECT_EQ(raw, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nGET /hello\n");
    ASSERT_EQ(app.request_count(), 1u);
    auto seen = app.requests()[0];
    EXPECT_TRUE(seen.vars_well_formed);
    EXPECT_EQ(seen.vars.fields(), (std::vector<std::pair<std::string, std::string>>{
                                      {"REQUEST_METHOD", "GET"}, {"PATH_INFO", "/hello"}}));
    EXPECT_EQ(seen.body_size, 0u);
}

TEST(uwsgi_backend, reads_content_length_body_over_a_unix_socket)
{
    temp_dir dir;
    uwsgi_backend app{{.unix_path = dir.file("app.sock")}};
    EXPECT_EQ(app.address(), "unix:" + dir.file("app.sock"));
    auto raw = raw_exchange(target::unix_socket(dir.file("app.sock")), post_up_hello);
    EXPECT_EQ(status_of(raw), 200);
    EXPECT_TRUE(raw.ends_with("\r\n\r\nPOST /up\nhello")) << raw;
    ASSERT_TRUE(app.wait_for_requests(1));
    EXPECT_EQ(app.requests()[0].body, "hello");
    EXPECT_EQ(app.requests()[0].body_size, 5u);
}

TEST(uwsgi_backend, plain_http_is_closed_unanswered)
{
    uwsgi_backend app;
    EXPECT_EQ(raw_exchange(app.port(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n"), "");
    EXPECT_EQ(app.malformed_packets(), 1u);
    EXPECT_EQ(app.request_count(), 0u);
}

TEST(uwsgi_backend, handler_and_delay_shape_the_reply)
{
    uwsgi_backend app{{.reply_after = 100ms, .handler = [](const uwsgi_request& r) {
                           return "HTTP/1.1 503 Busy\r\nX-Path: " + r.vars.value("PATH_INFO") +
                                  "\r\nContent-Length: 0\r\n\r\n";
                       }}};
    auto started = std::chrono::steady_clock::now();
    auto raw = raw_exchange(app.port(), get_hello);
    EXPECT_GE(std::chrono::steady_clock::now() - started, 100ms);
    EXPECT_EQ(raw, "HTTP/1.1 503 Busy\r\nX-Path: /hello\r\nContent-Length: 0\r\n\r\n");
    EXPECT_EQ(app.connections_accepted(), 1u);
}

TEST(uwsgi_backend, vars_block_parser_rejects_sizes_past_the_end)
{
    struct row {
        std::string block;
        bool ok;
    };
    // One var block a line, in the bytes of its sizes and strings.
    // clang-format off
    for (const auto& [block, ok] : std::vector<row>{
             {"", true},
             {"\x01\x00" "K" "\x00\x00"s, true},
             {"\x01\x00" "K"s, false},
             {"\x01\x00" "K" "\x02\x00" "v"s, false},
             {"\x05\x00" "K"s, false},
             {"\x01"s, false},
         })
        EXPECT_EQ(parse_uwsgi_vars(block).has_value(), ok) << testing::PrintToString(block);
    // clang-format on
}

}  // namespace
}  // namespace sluice::test
