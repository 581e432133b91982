// A listener behind a balancer that speaks the PROXY protocol (SPEC.md "TLS and the PROXY
// protocol"): the carried address is the client in the access log and X-Forwarded-For; a
// connection without a valid header is closed, logged as bad_proxy_header, and reaches no app.

#include "support/http_client.hpp"
#include "support/proxy_config.hpp"
#include "support/scripted_backend.hpp"
#include "support/sluice_process.hpp"

#include <gtest/gtest.h>

#include <string>

namespace sluice::test {
namespace {

const std::string request = "GET /who HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";

std::string v2_header(unsigned char command, unsigned char family, const std::string& payload)
{
    std::string h("\r\n\r\n\0\r\nQUIT\n", 12);
    h += static_cast<char>(0x20 | command);
    h += static_cast<char>(family);
    h += static_cast<char>(payload.size() >> 8);
    h += static_cast<char>(payload.size() & 0xFF);
    return h + payload;
}

// 2001:db8::7 port 40000 -> ::1 port 80
std::string v2_ipv6_payload()
{
    std::string src(16, '\0'), dst(16, '\0');
    src[0] = '\x20', src[1] = '\x01', src[2] = '\x0d', src[3] = '\xb8', src[15] = '\x07';
    dst[15] = '\x01';
    return src + dst + std::string("\x9c\x40\x00\x50", 4);
}

class proxy_protocol : public ::testing::Test {
protected:
    scripted_backend app;
    sluice_process start(const std::string& mode)
    {
        return sluice_process{config_for(app).listener_option("proxy_protocol: " + mode)};
    }
};

TEST_F(proxy_protocol, the_address_a_header_carries_is_the_client_everywhere)
{
    auto proxy = start("any");
    struct row {
        std::string header, client;
    };
    const row rows[] = {
        {"PROXY TCP4 203.0.113.9 198.51.100.1 5555 80\r\n", "203.0.113.9"},
        {v2_header(1, 0x21, v2_ipv6_payload()), "2001:db8::7"},
        {v2_header(0, 0x00, ""), "127.0.0.1"},  // LOCAL: the balancer's own check
        {"PROXY UNKNOWN\r\n", "127.0.0.1"},
    };
    for (std::size_t i = 0; i < std::size(rows); ++i) {
        const auto raw = raw_exchange(proxy.port(), rows[i].header + request);
        EXPECT_EQ(status_of(raw), 200) << raw;
        auto log = proxy.wait_access_log(i + 1);
        ASSERT_EQ(log.size(), i + 1);
        EXPECT_EQ(log[i]["client"], rows[i].client) << log[i].text();
        ASSERT_EQ(app.request_count(), i + 1);
        EXPECT_EQ(app.requests().at(i).headers.value("X-Forwarded-For"), rows[i].client);
    }
}

// trusted_proxies is judged on the carried address, not the balancer's.
TEST_F(proxy_protocol, trusted_proxies_applies_to_the_carried_address)
{
    sluice_process proxy{config_for(app)
                             .listener_option("proxy_protocol: v1")
                             .listener_option("trusted_proxies: [10.0.0.0/8]")};
    const std::string spoofed =
        "GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 192.0.2.1\r\nConnection: close\r\n\r\n";
    for (std::string_view carried : {"10.9.9.9", "203.0.113.9"})
        EXPECT_EQ(status_of(raw_exchange(proxy.port(), "PROXY TCP4 " + std::string(carried) +
                                                           " 198.51.100.1 5555 80\r\n" + spoofed)),
                  200);
    const auto seen = app.requests();
    ASSERT_EQ(seen.size(), 2u);
    std::string chain;
    for (const auto& [name, value] : seen[0].headers.fields())
        if (iequals(name, "X-Forwarded-For")) chain += (chain.empty() ? "" : ", ") + value;
    EXPECT_EQ(chain, "192.0.2.1, 10.9.9.9");
    EXPECT_EQ(seen[1].headers.value("X-Forwarded-For"), "203.0.113.9");
}

TEST_F(proxy_protocol, one_header_serves_every_request_of_its_connection)
{
    auto proxy = start("v1");
    connection c{proxy.port()};
    ASSERT_TRUE(c.send_raw("PROXY TCP4 203.0.113.9 198.51.100.1 5555 80\r\n"));
    EXPECT_EQ(c.send({.path = "/one"}).status, 200);
    EXPECT_EQ(c.send({.path = "/two"}).status, 200);
    auto log = proxy.wait_access_log(2);
    ASSERT_EQ(log.size(), 2u);
    EXPECT_EQ(log[1]["client"], "203.0.113.9") << log[1].text();
}

TEST_F(proxy_protocol, a_connection_without_a_valid_header_is_closed_and_reaches_no_app)
{
    auto proxy = start("v1");
    const std::string refused[] = {
        request,                                          // no header at all
        v2_header(1, 0x21, v2_ipv6_payload()) + request,  // v2 where v1 is configured
        "PROXY TCP4 203.0.113.9 198.51.100.1 99999 80\r\n" + request,
    };
    for (const auto& bytes : refused) {
        const auto raw = raw_exchange(proxy.port(), bytes);
        EXPECT_EQ(raw, "") << "answered: " << raw;
    }
    EXPECT_TRUE(proxy.wait_stderr("reason: bad_proxy_header")) << proxy.stderr_text();
    EXPECT_EQ(app.request_count(), 0u);
    EXPECT_TRUE(proxy.access_log().empty());
    // And it keeps serving connections that do send one.
    EXPECT_EQ(status_of(raw_exchange(proxy.port(),
                                     "PROXY TCP4 203.0.113.9 198.51.100.1 5555 80\r\n" + request)),
              200);
}

}  // namespace
}  // namespace sluice::test
