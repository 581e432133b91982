#include "net/proxy_protocol.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace sluice::net {
namespace {

using verdict = proxy_parse::verdict;

std::string v2(unsigned char version_command, unsigned char family, std::string payload)
{
    std::string h("\r\n\r\n\0\r\nQUIT\n", 12);
    h += static_cast<char>(version_command);
    h += static_cast<char>(family);
    h += static_cast<char>(payload.size() >> 8);
    h += static_cast<char>(payload.size() & 0xFF);
    return h + payload;
}

// 192.0.2.1:56324 -> 198.51.100.7:443
const std::string v2_ipv4 = std::string("\xC0\x00\x02\x01\xC6\x33\x64\x07\xDC\x04\x01\xBB", 12);

std::string v2_ipv6()
{
    std::string a(16, '\0'), b(16, '\0');
    a[0] = '\x20', a[1] = '\x01', a[2] = '\x0d', a[3] = '\xb8', a[15] = '\x01';
    b[15] = '\x01';
    return a + b + std::string("\x00\x50\x1F\x90", 4);  // ports 80 -> 8080
}

TEST(proxy_protocol, reads_the_client_from_v1_and_v2_headers_and_leaves_what_follows)
{
    const std::string request = "GET / HTTP/1.1\r\n";
    struct row {
        std::string header;
        bool local;
        std::string source;
        unsigned port;
    };
    const row rows[] = {
        {"PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\n", false, "192.0.2.1", 56324},
        {"PROXY TCP6 2001:db8::1 ::1 80 8080\r\n", false, "2001:db8::1", 80},
        {"PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n", false, "0.0.0.0", 0},
        {"PROXY UNKNOWN\r\n", true, "", 0},
        {"PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n", true, "", 0},
        {v2(0x21, 0x11, v2_ipv4), false, "192.0.2.1", 56324},
        {v2(0x21, 0x21, v2_ipv6()), false, "2001:db8::1", 80},
        {v2(0x21, 0x11, v2_ipv4 + std::string("\x04\x00\x03xyz", 6)), false, "192.0.2.1", 56324},
        {v2(0x20, 0x00, ""), true, "", 0},                     // LOCAL: the balancer's own check
        {v2(0x20, 0x11, v2_ipv4), true, "", 0},                // LOCAL ignores its addresses
        {v2(0x21, 0x00, ""), true, "", 0},                     // unspecified family
        {v2(0x21, 0x31, std::string(216, 'u')), true, "", 0},  // unix: no IP to carry
    };
    for (const auto& r : rows) {
        for (auto allowed :
             {proxy_versions::any, r.header[0] == 'P' ? proxy_versions::v1 : proxy_versions::v2}) {
            const auto p = parse_proxy_header(r.header + request, allowed);
            ASSERT_EQ(p.result, verdict::accepted) << r.header << ": " << p.problem;
            EXPECT_EQ(p.consumed, r.header.size()) << r.header;
            EXPECT_EQ(p.header.local, r.local) << r.header;
            if (!r.local) {
                EXPECT_EQ(p.header.source.text(), r.source) << r.header;
                EXPECT_EQ(p.header.source.port, r.port) << r.header;
            }
        }
    }
}

TEST(proxy_protocol, waits_while_a_valid_header_is_still_arriving)
{
    for (const auto& whole : {std::string("PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\n"),
                              v2(0x21, 0x11, v2_ipv4), v2(0x20, 0x00, "")}) {
        for (std::size_t n = 0; n < whole.size(); ++n)
            EXPECT_EQ(parse_proxy_header(whole.substr(0, n), proxy_versions::any).result,
                      verdict::need_more)
                << "after " << n << " bytes of " << whole.size();
    }
}

TEST(proxy_protocol, refuses_every_malformed_shape_at_once)
{
    const std::string too_long_v1 = "PROXY TCP4 " + std::string(120, '1');
    const std::string refused[] = {
        "GET / HTTP/1.1\r\n\r\n",                         // no header at all
        "proxy TCP4 192.0.2.1 198.51.100.7 1 2\r\n",      // lower case
        "PROXY TCP5 192.0.2.1 198.51.100.7 1 2\r\n",      // unknown protocol
        "PROXY TCP4 192.0.2.1 198.51.100.7 1\r\n",        // a field missing
        "PROXY TCP4 192.0.2.1 198.51.100.7 1 2 3\r\n",    // a field too many
        "PROXY TCP4  192.0.2.1 198.51.100.7 1 2\r\n",     // two spaces
        "PROXY TCP4 192.0.2.1 198.51.100.7 1 2 \r\n",     // trailing space
        "PROXY TCP4 192.0.2 198.51.100.7 1 2\r\n",        // short address
        "PROXY TCP4 192.0.2.1.5 198.51.100.7 1 2\r\n",    // long address
        "PROXY TCP4 192.0.2.01 198.51.100.7 1 2\r\n",     // leading zero
        "PROXY TCP4 2001:db8::1 198.51.100.7 1 2\r\n",    // IPv6 under TCP4
        "PROXY TCP6 192.0.2.1 ::1 1 2\r\n",               // IPv4 under TCP6
        "PROXY TCP4 192.0.2.1 198.51.100.7 65536 2\r\n",  // port out of range
        "PROXY TCP4 192.0.2.1 198.51.100.7 -1 2\r\n",     // junk ports
        "PROXY TCP4 192.0.2.1 198.51.100.7 +1 2\r\n",
        "PROXY TCP4 192.0.2.1 198.51.100.7 01 2\r\n",
        "PROXY TCP4 192.0.2.1 198.51.100.7 1a 2\r\n",
        "PROXY TCP4 192.0.2.1 198.51.100.7 1 \r\n",
        "PROXY TCP4 192.0.2.1 198.51.100.7 1 2\n",                       // bare LF
        too_long_v1,                                                     // 107 bytes without CRLF
        std::string("PROXY TCP4 192.0.2.1\0 198.51.100.7 1 2\r\n", 41),  // NUL
        std::string("\r\n\r\n\0\r\nQUIX\n", 12),                         // bad signature
        v2(0x11, 0x11, v2_ipv4),                                         // version 1 in a v2 header
        v2(0x22, 0x11, v2_ipv4),                                         // command 2
        v2(0x21, 0x41, v2_ipv4),                                         // family 4
        v2(0x21, 0x12, v2_ipv4),                                         // UDP
        v2(0x21, 0x22, v2_ipv6()),
        v2(0x21, 0x11, v2_ipv4.substr(0, 8)),                            // too short for IPv4
        v2(0x21, 0x21, v2_ipv4),                                         // too short for IPv6
        v2(0x21, 0x31, std::string(100, 'u')),                           // too short for unix
        v2(0x21, 0x11, v2_ipv4 + std::string(4096, 't')).substr(0, 16),  // oversize: at once
    };
    for (const auto& bytes : refused) {
        const auto p = parse_proxy_header(bytes, proxy_versions::any);
        EXPECT_EQ(p.result, verdict::refused) << "accepted or waits for: " << bytes;
        EXPECT_FALSE(p.problem.empty()) << bytes;
    }
}

TEST(proxy_protocol, a_listener_for_one_version_refuses_the_other)
{
    const auto v1_header = "PROXY TCP4 192.0.2.1 198.51.100.7 1 2\r\n";
    EXPECT_EQ(parse_proxy_header(v1_header, proxy_versions::v2).result, verdict::refused);
    EXPECT_EQ(parse_proxy_header("PRO", proxy_versions::v2).result, verdict::refused);
    EXPECT_EQ(parse_proxy_header(v2(0x21, 0x11, v2_ipv4), proxy_versions::v1).result,
              verdict::refused);
    EXPECT_EQ(parse_proxy_header("\r\n\r", proxy_versions::v1).result, verdict::refused);
}

// What sluice sends to a server parses back to the same addresses, in both versions.
TEST(proxy_protocol, a_written_header_parses_back_to_its_addresses)
{
    struct row {
        std::string src, dst, src_text, dst_text;
    };
    const row rows[] = {
        {"192.0.2.1", "198.51.100.7", "192.0.2.1", "198.51.100.7"},
        {"2001:db8::7", "::1", "2001:db8::7", "::1"},
        {"2001:db8::7", "198.51.100.7", "2001:db8::7", "::ffff:198.51.100.7"},  // mixed: both v6
    };
    for (const auto& r : rows) {
        proxy_header h;
        ASSERT_TRUE(to_proxy_address(r.src, 40000, h.source));
        ASSERT_TRUE(to_proxy_address(r.dst, 443, h.destination));
        for (const bool v2 : {false, true}) {
            const auto bytes = write_proxy_header(h, v2);
            const auto p = parse_proxy_header(bytes + "GET /",
                                              v2 ? proxy_versions::v2 : proxy_versions::v1);
            ASSERT_EQ(p.result, verdict::accepted) << r.src << (v2 ? " v2" : " v1");
            EXPECT_EQ(p.consumed, bytes.size());
            EXPECT_FALSE(p.header.local);
            EXPECT_EQ(p.header.source.text(), r.src_text);
            EXPECT_EQ(p.header.destination.text(), r.dst_text);
            EXPECT_EQ(p.header.source.port, 40000);
            EXPECT_EQ(p.header.destination.port, 443);
        }
    }
}

TEST(proxy_protocol, a_client_without_an_address_is_sent_as_local)
{
    proxy_header h;
    h.local = true;
    EXPECT_EQ(write_proxy_header(h, false), "PROXY UNKNOWN\r\n");
    const auto v2_bytes = write_proxy_header(h, true);
    const auto p = parse_proxy_header(v2_bytes, proxy_versions::v2);
    ASSERT_EQ(p.result, verdict::accepted);
    EXPECT_TRUE(p.header.local);
    EXPECT_EQ(p.consumed, 16u);
    proxy_address a;
    EXPECT_FALSE(to_proxy_address("unix", 0, a));
}

}  // namespace
}  // namespace sluice::net
