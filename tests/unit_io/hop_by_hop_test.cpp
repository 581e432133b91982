#include "proxy/http/hop_by_hop.hpp"
#include "proxy/http/message_head.hpp"

#include <gtest/gtest.h>

namespace sluice::proxy {
namespace {

using namespace std::chrono_literals;
using ms = std::chrono::milliseconds;
constexpr std::string_view header = "X-Request-Timeout-Ms";

request_head request_with(std::vector<std::string> values)
{
    request_head req;
    req.method(http::verb::get);
    req.target("/");
    for (const auto& v : values)
        req.insert(header, v);
    return req;
}

TEST(deadline_header, a_client_value_can_only_shorten_the_budget)
{
    struct row {
        std::vector<std::string> values;
        ms expected;
    };
    const row rows[] = {
        {{}, 5000ms},
        {{"1200"}, 1200ms},
        {{"0"}, 0ms},
        {{"9000"}, 5000ms},                   // longer than configured: ignored
        {{"800", "300"}, 300ms},              // repeated: the smallest wins
        {{"-5"}, 5000ms},                     // not a count of milliseconds
        {{"12.5"}, 5000ms},
        {{"1e3"}, 5000ms},
        {{""}, 5000ms},
        {{"99999999999999999999"}, 5000ms},  // no overflow into a small number
        {{"abc", "700"}, 700ms},
    };
    for (const auto& r : rows)
        EXPECT_EQ(request_budget(request_with(r.values), header, 5000ms), r.expected)
            << testing::PrintToString(r.values);
}

TEST(deadline_header, off_leaves_the_budget_alone)
{
    EXPECT_EQ(request_budget(request_with({"10"}), "", 5000ms), 5000ms);
}

TEST(deadline_header, the_name_is_matched_case_insensitively)
{
    auto req = request_with({});
    req.insert("x-request-timeout-ms", "250");
    EXPECT_EQ(request_budget(req, header, 5000ms), 250ms);
}

std::string written(const request_head& req, const head_edits& edits)
{
    std::string out;
    write_head(req, edits, out);
    return out;
}

std::size_t count_of(const std::string& text, const std::string& part)
{
    std::size_t n = 0;
    for (auto pos = text.find(part); pos != std::string::npos; pos = text.find(part, pos + 1))
        ++n;
    return n;
}

TEST(deadline_header, the_remaining_budget_replaces_the_clients_value)
{
    auto req = request_with({"9000", "800"});
    head_edits edits;
    set_deadline_header(edits, header, 742ms);
    auto out = written(req, edits);
    EXPECT_EQ(count_of(out, "X-Request-Timeout-Ms:"), 1u) << out;
    EXPECT_EQ(count_of(out, "X-Request-Timeout-Ms: 742\r\n"), 1u) << out;
    set_deadline_header(edits, header, -3ms);  // a retry: the line is replaced, not added
    out = written(req, edits);
    EXPECT_EQ(count_of(out, "X-Request-Timeout-Ms:"), 1u) << out;
    EXPECT_EQ(count_of(out, "X-Request-Timeout-Ms: 0\r\n"), 1u) << out;
}

TEST(forwarding, upstream_request_gets_forwarding_headers_and_loses_hop_by_hop_ones)
{
    request_head req;
    req.method(http::verb::get);
    req.target("/a");
    req.version(10);
    for (auto [name, value] : {std::pair{"Host", "example"}, {"X-Forwarded-For", "10.1.2.3"},
                               {"Via", "1.0 a"}, {"via", "1.1 b"}, {"Connection", "keep-alive, X-Private"},
                               {"X-Private", "secret"}, {"Keep-Alive", "timeout=5"}, {"TE", "trailers"},
                               {"Upgrade", "h2c"}, {"X-Request-Id", "theirs"}})
        req.insert(name, value);
    head_edits edits;
    prepare_upstream_request(req, {"127.0.0.1", "ours", false}, edits);
    const auto out = written(req, edits);
    EXPECT_EQ(out.rfind("GET /a HTTP/1.1\r\nHost: example\r\n", 0), 0u) << out;
    EXPECT_EQ(count_of(out, "X-Forwarded-For: 10.1.2.3, 127.0.0.1\r\n"), 1u) << out;
    EXPECT_EQ(count_of(out, "X-Forwarded-For"), 1u) << out;
    EXPECT_EQ(count_of(out, "Via: 1.0 a, 1.1 b, 1.1 sluice\r\n"), 1u) << out;
    EXPECT_EQ(count_of(out, "X-Forwarded-Proto: http\r\n"), 1u) << out;
    EXPECT_EQ(count_of(out, "X-Request-Id: ours\r\n"), 1u) << out;
    EXPECT_EQ(count_of(out, "theirs"), 0u) << out;
    for (auto gone : {"Connection", "X-Private", "Keep-Alive", "TE:", "Upgrade", "via:"})
        EXPECT_EQ(count_of(out, gone), 0u) << gone << " in " << out;
    EXPECT_EQ(out.substr(out.size() - 4), "\r\n\r\n");
}

TEST(forwarding, upgrade_request_keeps_upgrade_and_says_so_in_connection)
{
    request_head req;
    req.insert("Upgrade", "websocket");
    req.insert("Connection", "Upgrade");
    head_edits edits;
    prepare_upstream_request(req, {"", "id", true}, edits);
    const auto out = written(req, edits);
    EXPECT_EQ(count_of(out, "Upgrade: websocket\r\n"), 1u) << out;
    EXPECT_EQ(count_of(out, "Connection: upgrade\r\n"), 1u) << out;
    EXPECT_EQ(count_of(out, "Connection"), 1u) << out;
    EXPECT_EQ(count_of(out, "X-Forwarded-For"), 0u) << "no address for a unix-socket client";
}

response_head chunked_response()
{
    response_head res;
    res.result(http::status::ok);
    res.insert("Transfer-Encoding", "chunked");
    res.insert("Connection", "keep-alive");
    return res;
}

TEST(forwarding, response_to_http_1_1_stays_chunked_and_open)
{
    auto res = chunked_response();
    head_edits edits;
    EXPECT_TRUE(prepare_client_response(res, 11, true, false, true, edits));
    std::string out;
    write_head(res, edits, out);
    EXPECT_EQ(out.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << out;
    EXPECT_EQ(count_of(out, "Transfer-Encoding: chunked\r\n"), 1u) << out;
    EXPECT_EQ(count_of(out, "Via: 1.1 sluice\r\n"), 1u) << out;
    EXPECT_EQ(count_of(out, "Connection"), 0u) << out;
}

TEST(forwarding, chunked_response_to_http_1_0_is_close_delimited)
{
    auto res = chunked_response();
    head_edits edits;
    EXPECT_FALSE(prepare_client_response(res, 10, true, false, true, edits));
    EXPECT_EQ(res.count(http::field::transfer_encoding), 0u) << "the relay must not frame chunks";
    std::string out;
    write_head(res, edits, out);
    EXPECT_EQ(count_of(out, "Transfer-Encoding"), 0u) << out;
    EXPECT_EQ(count_of(out, "Connection: close\r\n"), 1u) << out;
}

TEST(forwarding, http_1_0_client_kept_alive_is_told_so)
{
    response_head res;
    head_edits edits;
    EXPECT_TRUE(prepare_client_response(res, 10, true, false, false, edits));
    std::string out;
    write_head(res, edits, out);
    EXPECT_EQ(count_of(out, "Connection: keep-alive\r\n"), 1u) << out;
}

TEST(forwarding, idempotent_methods_follow_rfc_9110)
{
    for (auto m : {http::verb::get, http::verb::head, http::verb::options, http::verb::put,
                   http::verb::delete_, http::verb::trace})
        EXPECT_TRUE(is_idempotent(m)) << http::to_string(m);
    for (auto m : {http::verb::post, http::verb::patch, http::verb::connect})
        EXPECT_FALSE(is_idempotent(m)) << http::to_string(m);
}

}  // namespace
}  // namespace sluice::proxy
