#include "config/units.hpp"

#include <gtest/gtest.h>

namespace sluice::config {
namespace {

TEST(units, durations_parse_to_milliseconds)
{
    const std::pair<std::string_view, std::int64_t> cases[] = {
        {"0", 0},           {"0s", 0},        {"0ms", 0},        {"250ms", 250},
        {"2s", 2000},       {"1m", 60'000},   {"1h", 3'600'000}, {"1.5s", 1500},
        {"0.25s", 250},     {"1.5m", 90'000}, {"1m30s", 90'000}, {"1h30m", 5'400'000},
        {"1m0.5s", 60'500}, {"10m", 600'000}, {"300s", 300'000}, {"1s500ms", 1500},
    };
    for (const auto& [text, ms] : cases) {
        EXPECT_EQ(parse_duration(text), duration{ms}) << text;
    }
}

TEST(units, durations_without_a_unit_or_with_garbage_are_rejected)
{
    // Packed as a table: one case a line would be 23 lines.
    // clang-format off
    const std::string_view cases[] = {
        "",     "5",     "-1s",  "+1s", "1",     "s",     "1.s",  ".5s",  "1.5ms", "0.0001s",
        "2 s",  " 2s",   "2s ",  "2S",  "2sec",  "1d",    "abc",  "30s1m", "1s1s", "1m1h",
        "1e3ms", "0x10s", "99999999999999999999s",
    };
    // clang-format on
    for (auto text : cases) EXPECT_EQ(parse_duration(text), std::nullopt) << '"' << text << '"';
}

TEST(units, format_duration_is_short_and_reads_back_the_same)
{
    const std::pair<std::int64_t, std::string_view> cases[] = {
        {0, "0s"},         {250, "250ms"},      {1000, "1s"},         {1500, "1.5s"},
        {2050, "2.05s"},   {60'000, "1m"},      {90'000, "1m30s"},    {60'500, "1m0.5s"},
        {3'600'000, "1h"}, {3'605'000, "1h5s"}, {5'400'000, "1h30m"},
    };
    for (const auto& [ms, text] : cases) {
        EXPECT_EQ(format_duration(duration{ms}), text);
        EXPECT_EQ(parse_duration(text), duration{ms}) << text;
    }
}

TEST(units, sizes_take_binary_suffixes)
{
    const std::pair<std::string_view, std::optional<std::uint64_t>> cases[] = {
        {"0", 0},
        {"4096", 4096},
        {"64k", 64 * 1024},
        {"64K", 64 * 1024},
        {"100m", 100 << 20},
        {"1g", 1ull << 30},
        {"", std::nullopt},
        {"k", std::nullopt},
        {"64kb", std::nullopt},
        {"-1", std::nullopt},
        {"1.5m", std::nullopt},
        {"64t", std::nullopt},
        {"99999999999999g", std::nullopt},
    };
    for (const auto& [text, bytes] : cases) EXPECT_EQ(parse_size(text), bytes) << text;
}

TEST(units, percentages_need_the_percent_sign)
{
    const std::pair<std::string_view, std::optional<unsigned>> cases[] = {
        {"10%", 10u},           {"0%", 0u},          {"50%", 50u},          {"150%", 150u},
        {"10", std::nullopt},   {"%", std::nullopt}, {"-5%", std::nullopt}, {"1.5%", std::nullopt},
        {"10 %", std::nullopt},
    };
    for (const auto& [text, percent] : cases) EXPECT_EQ(parse_percent(text), percent) << text;
}

TEST(units, endpoints_keep_the_host_as_written)
{
    struct tcp_case {
        std::string_view text, host;
        std::uint16_t port;
    };
    const tcp_case cases[] = {
        {"127.0.0.1:8080", "127.0.0.1", 8080}, {"0.0.0.0:80", "0.0.0.0", 80},
        {"[::1]:8080", "::1", 8080},           {"localhost:8000", "localhost", 8000},
        {"127.0.0.1:0", "127.0.0.1", 0},       {"app.internal:65535", "app.internal", 65535},
    };
    for (const auto& c : cases) {
        const auto parsed = parse_endpoint(c.text);
        ASSERT_TRUE(parsed.value) << c.text << ": " << parsed.problem;
        EXPECT_EQ(parsed.value->type, endpoint::kind::tcp);
        EXPECT_EQ(parsed.value->host, c.host);
        EXPECT_EQ(parsed.value->port, c.port);
        EXPECT_EQ(parsed.value->text, c.text);
    }
}

TEST(units, unix_socket_endpoints_keep_their_path)
{
    const auto parsed = parse_endpoint("unix:/run/app.sock");
    ASSERT_TRUE(parsed.value);
    EXPECT_EQ(parsed.value->type, endpoint::kind::unix_socket);
    EXPECT_EQ(parsed.value->path, "/run/app.sock");
    EXPECT_EQ(parsed.value->text, "unix:/run/app.sock");
}

TEST(units, bad_endpoints_say_what_is_wrong)
{
    const std::pair<std::string_view, std::string_view> cases[] = {
        {"127.0.0.1", "has no port"},
        {"127.0.0.1:", "has port \"\"; a port is a number 0-65535"},
        {"127.0.0.1:http", "has port \"http\"; a port is a number 0-65535"},
        {"127.0.0.1:65536", "has port \"65536\"; a port is a number 0-65535"},
        {":8080", "has no host (0.0.0.0 means every interface)"},
        {"::1:8080", "has an IPv6 host without brackets (write [::1]:8080)"},
        {"[::1", "has no closing ] after the IPv6 host"},
        {"[::1]", "has no port"},
        {"unix:run/app.sock", "needs an absolute socket path after unix:"},
    };
    for (const auto& [text, problem] : cases) {
        const auto parsed = parse_endpoint(text);
        EXPECT_FALSE(parsed.value) << text;
        EXPECT_EQ(parsed.problem, problem) << text;
    }
}

}  // namespace
}  // namespace sluice::config
