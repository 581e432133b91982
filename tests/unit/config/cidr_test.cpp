#include "config/cidr.hpp"

#include <gtest/gtest.h>

namespace sluice::config {
namespace {

TEST(cidr, parses_ranges_and_single_addresses_and_refuses_the_rest)
{
    for (std::string_view ok : {"10.0.0.0/8", "192.0.2.7", "0.0.0.0/0", "2001:db8::/32", "::1",
                                "::/0", "192.0.2.7/32", "fe80::/10"})
        EXPECT_TRUE(parse_cidr(ok)) << ok;
    for (std::string_view bad :
         {"", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/8x", "10.0.0.1/8", "10.0.0",
          "2001:db8::/129", "2001:db8::1/32", "example.com", "10.0.0.0/8/8", "/8"})
        EXPECT_FALSE(parse_cidr(bad)) << bad;
}

TEST(cidr, matches_addresses_in_the_range_only)
{
    struct row {
        std::string_view range, address;
        bool inside;
    };
    const row rows[] = {
        {"10.0.0.0/8", "10.255.1.2", true},
        {"10.0.0.0/8", "11.0.0.1", false},
        {"192.0.2.0/25", "192.0.2.127", true},
        {"192.0.2.0/25", "192.0.2.128", false},
        {"192.0.2.7", "192.0.2.7", true},
        {"192.0.2.7", "192.0.2.8", false},
        {"0.0.0.0/0", "203.0.113.1", true},
        {"0.0.0.0/0", "2001:db8::1", false},      // families do not mix
        {"10.0.0.0/8", "::ffff:10.1.2.3", true},  // IPv4-mapped, as a dual-stack socket sees it
        {"2001:db8::/32", "2001:db8:ffff::1", true},
        {"2001:db8::/32", "2001:db9::1", false},
        {"fe80::/10", "febf::1", true},
        {"fe80::/10", "fec0::1", false},
        {"::/0", "::1", true},
        {"10.0.0.0/8", "", false},  // a unix-socket client
        {"10.0.0.0/8", "not an address", false},
    };
    for (const auto& r : rows)
        EXPECT_EQ(contains(*parse_cidr(r.range), r.address), r.inside)
            << r.address << " in " << r.range;
}

}  // namespace
}  // namespace sluice::config
