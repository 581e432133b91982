// Malformed and oversized request heads: each is answered with its status, logged with its
// reason, its connection closed, nothing of it reaches the app, and the proxy keeps serving.

#include "support/http_client.hpp"
#include "support/proxy_config.hpp"
#include "support/refusal.hpp"
#include "support/scripted_backend.hpp"
#include "support/sluice_process.hpp"

#include <gtest/gtest.h>

namespace sluice::test {
namespace {

const std::vector<refusal_case> head_cases = {
    {"content_length_and_transfer_encoding",
     "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
     "0\r\n\r\n",
     400, "bad_request"},
    {"duplicate_content_length",
     "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400,
     "bad_request"},
    {"repeated_equal_content_length",
     "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello", 400,
     "bad_request"},
    {"non_numeric_content_length", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\nhello",
     400, "bad_request"},
    {"negative_content_length", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\nhello",
     400, "bad_request"},
    {"obs_fold", "GET / HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n  b\r\n\r\n", 400, "bad_request"},
    {"garbage_request_line", "THIS IS NOT HTTP\r\n\r\n", 400, "bad_request"},
    {"header_over_max_header",
     "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(8 * 1024, 'h') + "\r\n\r\n", 431,
     "header_too_large"},
};

class hardening : public ::testing::TestWithParam<refusal_case> {};

TEST_P(hardening, is_refused_logged_and_closed_and_the_proxy_keeps_serving)
{
    expect_refused(GetParam());
}

INSTANTIATE_TEST_SUITE_P(heads, hardening, ::testing::ValuesIn(head_cases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(hardening_limits, header_and_body_within_limits_pass)
{
    scripted_backend app;
    sluice_process proxy{config_for(app).limits("{ max_header: 4k, max_body: 1k }")};
    auto r = request(proxy.port(), {.method = "POST",
                                    .headers = {{"X-Mid", std::string(2000, 'm')}},
                                    .body = std::string(1000, 'b')});
    EXPECT_EQ(r.status, 200) << r.error;
    EXPECT_EQ(app.requests().at(0).body_size, 1000u);
}

}  // namespace
}  // namespace sluice::test
