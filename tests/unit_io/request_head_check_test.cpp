#include "proxy/http/request_head_check.hpp"

#include "proxy/http/body_parse.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <tuple>
#include <utility>

namespace sluice::proxy {
namespace {

struct outcome {
    head_check::verdict result;
    unsigned status;  // 0 unless refused
};

// Feeds `bytes` as read_head does, the first `split` of them first (all at once for 0).
outcome check_in_two(std::string_view bytes, std::size_t split, const config::limits& limits)
{
    request_parser p;
    limit_request_parser(p, limits);
    std::size_t start = 0;
    for (std::size_t arrived : {split, bytes.size()}) {
        if (arrived == 0) continue;
        const auto c = check_request_head(p, bytes.substr(start, arrived - start), limits);
        start += c.consumed;
        if (c.result == head_check::verdict::refused)
            return {c.result, static_cast<unsigned>(c.status)};
        if (c.result == head_check::verdict::accepted) return {c.result, 0};
    }
    return {head_check::verdict::need_more, 0};
}

TEST(request_head_check, decides_the_same_whole_or_split_at_any_byte)
{
    using v = head_check::verdict;
    struct row {
        std::string bytes;
        outcome expected;
    };
    const row rows[] = {
        {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", {v::accepted, 0}},
        {"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", {v::accepted, 0}},
        {"GET / HTTP/1.1\r\nHost: a\r\n", {v::need_more, 0}},
        {"GET / HTTP/1.1\r\nX: one\r\n two\r\n\r\n", {v::refused, 400}},  // obs-fold
        {"POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
         {v::refused, 400}},
        {"POST / HTTP/1.1\r\nContent-Length: 1, 1\r\n\r\n", {v::refused, 400}},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", {v::refused, 400}},
        {"GET / HTTP/1.1\r\nX-Request-Id: a b\r\n\r\n", {v::refused, 400}},
        {"GET / HTTP/2.0\r\n\r\n", {v::refused, 400}},
        {"POST / HTTP/1.1\r\nContent-Length: 101\r\n\r\n", {v::refused, 413}},
        {"GET / HTTP/1.1\r\nX: " + std::string(300, 'x') + "\r\n\r\n", {v::refused, 431}},
        {"GET / HTTP/1.1\r\nX: " + std::string(300, 'x'), {v::refused, 431}},  // no end yet
    };
    config::limits limits{.max_header = 256, .max_body = 100};
    for (const auto& r : rows) {
        for (std::size_t split = 0; split < r.bytes.size(); ++split) {
            const auto got = check_in_two(r.bytes, split, limits);
            EXPECT_EQ(got.result, r.expected.result) << r.bytes << " split at " << split;
            EXPECT_EQ(got.status, r.expected.status) << r.bytes << " split at " << split;
        }
    }
}

TEST(request_head_check, an_accepted_head_comes_with_its_facts)
{
    request_parser p;
    const config::limits limits;
    limit_request_parser(p, limits);
    const std::string_view bytes =
        "PUT /f HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nX-Request-Id: r1\r\n\r\nbody";
    const auto c = check_request_head(p, bytes, limits);
    ASSERT_EQ(c.result, head_check::verdict::accepted);
    EXPECT_EQ(c.consumed, bytes.size() - 4);  // the body stays for the relay
    EXPECT_EQ(c.facts.host, "h");
    EXPECT_EQ(c.facts.expect, "100-continue");
    EXPECT_EQ(c.facts.request_id, "r1");
}

// Found by tests/fuzz/request_head: Beast reads a short request line as a version still
// arriving, so a whole head waited for more bytes and got 408 after client_header, not 400.
TEST(request_head_check, a_whole_head_with_a_short_request_line_is_400_at_once)
{
    for (std::string_view bytes : {"GET / : a\r\n\r\n", "GET / HTTP\r\n\r\n", "GET /\r\n\r\n"}) {
        request_parser p;
        const config::limits limits;
        limit_request_parser(p, limits);
        const auto c = check_request_head(p, bytes, limits);
        EXPECT_EQ(c.result, head_check::verdict::refused) << bytes;
        EXPECT_EQ(c.status, http::status::bad_request) << bytes;
    }
}

// Feeds a chunked request's body `step` bytes at a time after its head; returns the error the
// parser stopped on (none if it finished or waits for more) and the body bytes it produced.
std::pair<boost::system::error_code, std::string> chunked_body(std::string_view body,
                                                               std::size_t step,
                                                               std::uint64_t max_body)
{
    const config::limits limits{.max_body = max_body};
    request_parser p;
    limit_request_parser(p, limits);
    const auto c = check_request_head(p, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
                                      limits);
    EXPECT_EQ(c.result, head_check::verdict::accepted);
    boost::beast::flat_buffer in;
    std::string out(64, '\0'), produced;
    for (std::size_t fed = 0; fed < body.size() && !p.is_done();) {
        const auto n = std::min(step, body.size() - fed);
        in.commit(
            boost::asio::buffer_copy(in.prepare(n), boost::asio::buffer(body.substr(fed, n))));
        fed += n;
        const auto r = parse_body(p, in, out.data(), out.size());
        produced.append(out.data(), r.produced);
        if (r.ec) return {r.ec, produced};
    }
    return {{}, produced};
}

TEST(request_parser, counts_a_chunked_body_against_the_limit_once_per_chunk)
{
    // Within the limit by one byte, over it by one, each fed whole and one byte at a time.
    for (std::size_t step : {std::size_t{1}, std::size_t{1000}}) {
        auto [ec, body] = chunked_body("4\r\nabcd\r\n2;x=y\r\nef\r\n0\r\n\r\n", step, 6);
        EXPECT_FALSE(ec) << ec.message();
        EXPECT_EQ(body, "abcdef");
        std::tie(ec, body) = chunked_body("4\r\nabcd\r\n3\r\nefg\r\n0\r\n\r\n", step, 6);
        EXPECT_EQ(ec, http::error::body_limit) << "step " << step;
    }
}

// Found by tests/fuzz/chunked_body: Beast charged a chunk's size to its limit again each time a
// quoted extension was not all there, so a malformed chunk arriving in pieces got 413, and the
// same bytes arriving at once 400.
TEST(request_parser, a_malformed_extension_is_400_however_its_bytes_arrive)
{
    const std::string_view body = "5;name=\"val\r\nhello\"\r\n0\r\n\r\n";
    for (std::size_t step = 1; step <= body.size(); ++step) {
        const auto [ec, produced] = chunked_body(body, step, 8);
        EXPECT_EQ(ec, http::error::bad_chunk_extension) << "step " << step << ": " << ec.message();
        EXPECT_EQ(produced, "");
    }
}

}  // namespace
}  // namespace sluice::proxy
