#pragma once
// An address range as operators write it for trusted_proxies: "10.0.0.0/8", "2001:db8::/32",
// or one address ("192.0.2.7" = /32, "::1" = /128). Pure: parsed at config load, matched against
// a client's address text on the request path.

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace sluice::config {

struct cidr {
    bool v6 = false;
    std::array<std::uint8_t, 16> bytes{};  // network order, host bits zero; the first 4 for v4
    unsigned prefix = 0;                   // bits that must match
    friend bool operator==(const cidr&, const cidr&) = default;
};

// `text` as an IPv4 address (4 bytes, `v6` false) or an IPv6 one (16 bytes); false for anything
// else, embedded NULs included. Shared with the PROXY protocol parser (net/proxy_protocol).
bool parse_ip_address(std::string_view text, bool& v6, std::array<std::uint8_t, 16>& out);

// nullopt unless `text` is an IPv4 or IPv6 address, optionally with /N (N at most 32 or 128);
// bits set past the prefix ("10.0.0.1/8") are refused, as they usually mean a typo.
std::optional<cidr> parse_cidr(std::string_view text);

// Whether `address` ("192.0.2.7", "2001:db8::1", or an IPv4-mapped "::ffff:192.0.2.7", which
// matches IPv4 ranges) lies in `range`. An unparsable address (a unix client's "") matches none.
bool contains(const cidr& range, std::string_view address);

}  // namespace sluice::config
