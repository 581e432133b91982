#include "proxy/http/deadline_header.hpp"
#include "written_head.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

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
    for (const auto& v : values) req.insert(header, v);
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
        {{"9000"}, 5000ms},       // longer than configured: ignored
        {{"800", "300"}, 300ms},  // repeated: the smallest wins
        {{"-5"}, 5000ms},         // not a count of milliseconds
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

}  // namespace
}  // namespace sluice::proxy
