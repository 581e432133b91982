#include "net/proxy_protocol.hpp"

#include "config/cidr.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace sluice::net {

namespace {

constexpr std::string_view v1_prefix = "PROXY ";
constexpr std::string_view v2_signature{"\r\n\r\n\0\r\nQUIT\n", 12};
constexpr std::size_t v2_fixed = 16;  // signature, version and command, family, length

proxy_parse refuse(std::string_view problem)
{
    proxy_parse p;
    p.result = proxy_parse::verdict::refused;
    p.problem = problem;
    return p;
}

proxy_parse accept(std::size_t consumed, const proxy_header& h)
{
    proxy_parse p;
    p.result = proxy_parse::verdict::accepted;
    p.consumed = consumed;
    p.header = h;
    return p;
}

proxy_header local_header()
{
    proxy_header h;
    h.local = true;
    return h;
}

// Whether what has arrived agrees with `whole` as far as it goes.
bool starts_like(std::string_view bytes, std::string_view whole)
{
    const auto n = std::min(bytes.size(), whole.size());
    return bytes.substr(0, n) == whole.substr(0, n);
}

// Decimal 0..65535 without sign or leading zeros.
bool parse_port(std::string_view s, std::uint16_t& port)
{
    if (s.empty() || s.size() > 5 || (s.size() > 1 && s[0] == '0')) return false;
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc{} || end != s.data() + s.size() || value > 65535) return false;
    port = static_cast<std::uint16_t>(value);
    return true;
}

bool parse_ip(std::string_view s, proxy_address::family fam, proxy_address& a)
{
    bool v6 = false;
    a.fam = fam;
    return config::parse_ip_address(s, v6, a.bytes) && v6 == (fam == proxy_address::family::inet6);
}

// "PROXY TCP4 192.0.2.1 198.51.100.1 56324 443\r\n", or "PROXY UNKNOWN[ anything]\r\n".
proxy_parse parse_v1(std::string_view bytes)
{
    const auto window = bytes.substr(0, max_v1_header);
    const auto end = window.find("\r\n");
    const auto lf = window.find('\n');
    if (lf != std::string_view::npos && (end == std::string_view::npos || lf < end + 1))
        return refuse("a v1 header line not ended by CRLF");
    if (end == std::string_view::npos)
        return bytes.size() >= max_v1_header ? refuse("a v1 header longer than 107 bytes")
                                             : proxy_parse{};
    const auto line = bytes.substr(v1_prefix.size(), end - v1_prefix.size());
    if (line == "UNKNOWN" || line.starts_with("UNKNOWN ")) return accept(end + 2, local_header());
    std::array<std::string_view, 5> f;
    std::size_t n = 0;
    for (std::size_t at = 0;; ++n) {
        const auto space = line.find(' ', at);
        if (n == f.size()) return refuse("a v1 header with more than five fields after PROXY");
        f[n] = line.substr(at, space - at);
        if (space == std::string_view::npos) break;
        at = space + 1;
    }
    if (n + 1 != f.size())
        return refuse("a v1 header needs TCP4|TCP6 source destination source-port dest-port");
    using fam = proxy_address::family;
    if (f[0] != "TCP4" && f[0] != "TCP6")
        return refuse("a v1 protocol other than TCP4, TCP6 or UNKNOWN");
    const auto family = f[0] == "TCP4" ? fam::inet : fam::inet6;
    proxy_header h;
    if (!parse_ip(f[1], family, h.source) || !parse_ip(f[2], family, h.destination))
        return refuse("a v1 address that is not an address of the family its protocol names");
    if (!parse_port(f[3], h.source.port) || !parse_port(f[4], h.destination.port))
        return refuse("a v1 port that is not a decimal number from 0 to 65535");
    return accept(end + 2, h);
}

std::uint16_t big_endian(const char* p)
{
    return static_cast<std::uint16_t>(static_cast<unsigned char>(p[0]) << 8 |
                                      static_cast<unsigned char>(p[1]));
}

// Source and destination address of `size` bytes each, then the two ports.
proxy_header ip_addresses(const char* p, proxy_address::family fam, std::size_t size)
{
    proxy_header h;
    h.source.fam = h.destination.fam = fam;
    std::memcpy(h.source.bytes.data(), p, size);
    std::memcpy(h.destination.bytes.data(), p + size, size);
    h.source.port = big_endian(p + 2 * size);
    h.destination.port = big_endian(p + 2 * size + 2);
    return h;
}

// 12-byte signature, version 2 and command, family and transport, the length of what follows
// (addresses, then TLVs, which are skipped).
proxy_parse parse_v2(std::string_view bytes)
{
    if (bytes.size() < v2_fixed) return {};
    const auto version_command = static_cast<unsigned char>(bytes[12]);
    const auto family = static_cast<unsigned char>(bytes[13]);
    const std::size_t total = v2_fixed + big_endian(bytes.data() + 14);
    if (version_command >> 4 != 2) return refuse("a v2 header of a version other than 2");
    const auto command = version_command & 0xF;
    if (command > 1) return refuse("a v2 command that is neither LOCAL nor PROXY");
    if (total > max_v2_header) return refuse("a v2 header longer than 4096 bytes");
    if (bytes.size() < total) return {};
    if (command == 0) return accept(total, local_header());
    const auto body = bytes.data() + v2_fixed;
    const auto length = total - v2_fixed;
    using fam = proxy_address::family;
    switch (family) {
    case 0x00:  // unspecified: the receiver uses the connection's own addresses
        return accept(total, local_header());
    case 0x11:
        return length < 12 ? refuse("a v2 header too short for its IPv4 addresses")
                           : accept(total, ip_addresses(body, fam::inet, 4));
    case 0x21:
        return length < 36 ? refuse("a v2 header too short for its IPv6 addresses")
                           : accept(total, ip_addresses(body, fam::inet6, 16));
    case 0x31:  // a unix socket's peer carries no IP address to log or forward
        return length < 216 ? refuse("a v2 header too short for its unix addresses")
                            : accept(total, local_header());
    case 0x12:
    case 0x22:
    case 0x32: return refuse("a v2 header for a datagram connection");
    default: return refuse("a v2 address family other than IPv4, IPv6, unix or unspecified");
    }
}

}  // namespace

std::string proxy_address::text() const
{
    char out[INET6_ADDRSTRLEN];
    const auto af = fam == family::inet ? AF_INET : AF_INET6;
    return inet_ntop(af, bytes.data(), out, sizeof out) ? std::string(out) : std::string();
}

proxy_parse parse_proxy_header(std::string_view bytes, proxy_versions allowed)
{
    const bool v1 = allowed != proxy_versions::v2;
    const bool v2 = allowed != proxy_versions::v1;
    if (bytes.empty()) return {};
    if (starts_like(bytes, v1_prefix)) {
        if (!v1) return refuse("a v1 header where only v2 is allowed");
        return bytes.size() < v1_prefix.size() ? proxy_parse{} : parse_v1(bytes);
    }
    if (starts_like(bytes, v2_signature)) {
        if (!v2) return refuse("a v2 header where only v1 is allowed");
        return parse_v2(bytes);
    }
    return refuse("no PROXY protocol header where the listener requires one");
}

bool to_proxy_address(std::string_view ip, std::uint16_t port, proxy_address& out)
{
    bool v6 = false;
    if (!config::parse_ip_address(ip, v6, out.bytes)) return false;
    out.fam = v6 ? proxy_address::family::inet6 : proxy_address::family::inet;
    out.port = port;
    return true;
}

namespace {

proxy_address as_inet6(proxy_address a)
{
    if (a.fam == proxy_address::family::inet6) return a;
    std::array<std::uint8_t, 16> mapped{};
    mapped[10] = mapped[11] = 0xFF;
    std::copy_n(a.bytes.begin(), 4, mapped.begin() + 12);
    a.bytes = mapped;
    a.fam = proxy_address::family::inet6;
    return a;
}

void append_be16(std::string& out, std::uint16_t v)
{
    out += static_cast<char>(v >> 8);
    out += static_cast<char>(v & 0xFF);
}

}  // namespace

std::string write_proxy_header(const proxy_header& header, bool v2)
{
    auto src = header.source, dst = header.destination;
    if (src.fam != dst.fam) src = as_inet6(src), dst = as_inet6(dst);
    const bool inet = src.fam == proxy_address::family::inet;
    if (!v2) {
        if (header.local) return "PROXY UNKNOWN\r\n";
        return std::string("PROXY ") + (inet ? "TCP4 " : "TCP6 ") + src.text() + " " + dst.text() +
               " " + std::to_string(src.port) + " " + std::to_string(dst.port) + "\r\n";
    }
    std::string out(v2_signature);
    if (header.local) {
        out += '\x20';  // version 2, LOCAL
        out += '\x00';  // unspecified family
        append_be16(out, 0);
        return out;
    }
    const std::size_t size = inet ? 4 : 16;
    out += '\x21';                  // version 2, PROXY
    out += inet ? '\x11' : '\x21';  // TCP over IPv4 / IPv6
    append_be16(out, static_cast<std::uint16_t>(2 * size + 4));
    out.append(reinterpret_cast<const char*>(src.bytes.data()), size);
    out.append(reinterpret_cast<const char*>(dst.bytes.data()), size);
    append_be16(out, src.port);
    append_be16(out, dst.port);
    return out;
}

}  // namespace sluice::net
