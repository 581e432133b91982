#pragma once
// The PROXY protocol header (HAProxy's proxy-protocol.txt, versions 1 and 2) that a load
// balancer in front (AWS NLB, HAProxy `send-proxy`) puts before a connection's first byte to say
// whom it carries. Pure: bytes in, a verdict out. The listener reads and acts; this decides, so
// every malformed shape is unit tested (tests/unit/net) and fuzzed (tests/fuzz/proxy_header).
//
// Strict as HAProxy is: a header that does not parse closes the connection (SPEC.md
// `bad_proxy_header`), because whatever follows it cannot be trusted to be the client's request.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sluice::net {

enum class proxy_versions { v1, v2, any };

struct proxy_address {
    enum class family { inet, inet6 };
    family fam = family::inet;
    std::array<std::uint8_t, 16> bytes{};  // network order; the first 4 for inet
    std::uint16_t port = 0;
    // "192.0.2.1" or "2001:db8::1", as the access log and X-Forwarded-For write it.
    std::string text() const;
};

struct proxy_header {
    // LOCAL (v2), UNKNOWN (v1) or an address that is not IP (v2 unix, unspecified): the balancer
    // speaks for itself (its health check), so the socket's own address stands.
    bool local = false;
    proxy_address source, destination;  // when not local
};

struct proxy_parse {
    enum class verdict { need_more, accepted, refused };
    verdict result = verdict::need_more;
    std::size_t consumed = 0;  // when accepted: the header's length; the request follows it
    proxy_header header;
    std::string_view problem;  // when refused: what was wrong, for the log
};

// The longest header accepted: v1's own limit (107 bytes, CRLF included) and, for v2, 16 bytes
// plus addresses and TLVs up to this total (balancers send a few dozen bytes of TLVs).
constexpr std::size_t max_v1_header = 107;
constexpr std::size_t max_v2_header = 4096;

// The header that carries `source` and `destination` to a server (`servers[].proxy_protocol`),
// in v1 text or v2 binary; with `local` (a unix-socket client: no address to carry) v1's UNKNOWN
// or v2's LOCAL. Addresses of different families are both sent as IPv6 (v4-mapped).
std::string write_proxy_header(const proxy_header& header, bool v2);

// An address from its text ("192.0.2.1", "2001:db8::1") and port; false when not IP.
bool to_proxy_address(std::string_view ip, std::uint16_t port, proxy_address& out);

// Decides on the header at the start of `bytes` (what the connection has sent so far). Waits
// for more only while the bytes can still become a valid header of an allowed version.
proxy_parse parse_proxy_header(std::string_view bytes, proxy_versions allowed);

}  // namespace sluice::net
