// Malformed and oversized request bodies: refused with 400 or 413 and a log line, the
// connection closed, and the proxy keeps serving. The head is valid, so the proxy may already
// have forwarded it when the body turns out bad.

#include "support/refusal.hpp"

#include <gtest/gtest.h>

namespace sluice::test {
namespace {

const std::string body_2k(2048, 'b');

const std::vector<refusal_case> body_cases = {
    {"bad_chunk_size",
     "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
     400, "bad_request", true},
    {"content_length_over_max_body",
     "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2048\r\n\r\n" + body_2k, 413, "body_too_large",
     true},
    {"chunked_body_over_max_body",
     "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n" + body_2k +
         "\r\n0\r\n\r\n",
     413, "body_too_large", true},
};

class hardening_body : public ::testing::TestWithParam<refusal_case> {};

TEST_P(hardening_body, is_refused_logged_and_closed_and_the_proxy_keeps_serving)
{
    expect_refused(GetParam());
}

INSTANTIATE_TEST_SUITE_P(bodies, hardening_body, ::testing::ValuesIn(body_cases),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace sluice::test
