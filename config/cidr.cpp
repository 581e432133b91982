#include "config/cidr.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <charconv>
#include <cstring>

namespace sluice::config {

namespace {

bool prefix_matches(const std::array<std::uint8_t, 16>& a, const std::array<std::uint8_t, 16>& b,
                    unsigned prefix)
{
    const unsigned whole = prefix / 8, rest = prefix % 8;
    if (std::memcmp(a.data(), b.data(), whole) != 0) return false;
    if (rest == 0) return true;
    const auto mask = static_cast<std::uint8_t>(0xFF << (8 - rest));
    return (a[whole] & mask) == (b[whole] & mask);
}

}  // namespace

bool parse_ip_address(std::string_view text, bool& v6, std::array<std::uint8_t, 16>& out)
{
    char buf[INET6_ADDRSTRLEN];
    if (text.empty() || text.size() >= sizeof buf || text.find('\0') != std::string_view::npos)
        return false;
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';
    v6 = text.find(':') != std::string_view::npos;
    out = {};
    return inet_pton(v6 ? AF_INET6 : AF_INET, buf, out.data()) == 1;
}

std::optional<cidr> parse_cidr(std::string_view text)
{
    const auto slash = text.find('/');
    cidr c;
    if (!parse_ip_address(text.substr(0, slash), c.v6, c.bytes)) return std::nullopt;
    const unsigned bits = c.v6 ? 128 : 32;
    c.prefix = bits;
    if (slash != std::string_view::npos) {
        const auto n = text.substr(slash + 1);
        const auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), c.prefix);
        if (n.empty() || ec != std::errc{} || end != n.data() + n.size() || c.prefix > bits)
            return std::nullopt;
    }
    for (unsigned i = c.prefix; i < bits; ++i)
        if (c.bytes[i / 8] & (0x80 >> (i % 8))) return std::nullopt;
    return c;
}

bool contains(const cidr& range, std::string_view address)
{
    bool v6 = false;
    std::array<std::uint8_t, 16> a;
    if (!parse_ip_address(address, v6, a)) return false;
    static constexpr std::uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
    if (v6 && !range.v6 && std::memcmp(a.data(), mapped, sizeof mapped) == 0) {
        std::memmove(a.data(), a.data() + 12, 4);
        v6 = false;
    }
    return v6 == range.v6 && prefix_matches(a, range.bytes, range.prefix);
}

}  // namespace sluice::config
