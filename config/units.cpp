#include "config/units.hpp"

#include <array>
#include <cctype>
#include <charconv>

namespace sluice::config {
namespace {

// Far beyond any sane timeout, and far from overflowing the arithmetic below.
constexpr std::int64_t max_duration_ms = 100LL * 365 * 24 * 3600 * 1000;

struct duration_unit {
    std::string_view suffix;
    std::int64_t ms;
};
// Longest suffix first, so "ms" is not read as "m" followed by garbage.
constexpr std::array<duration_unit, 4> duration_units{
    {{"ms", 1}, {"h", 3600 * 1000}, {"m", 60 * 1000}, {"s", 1000}}};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Reads leading digits into `value`; false when there are none or they overflow.
bool take_number(std::string_view& text, std::uint64_t& value)
{
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end == text.data()) return false;
    text.remove_prefix(static_cast<std::size_t>(end - text.data()));
    return true;
}

// One "1.5s" component: the value in ms, and the unit's size to enforce decreasing order.
std::optional<std::int64_t> take_component(std::string_view& text, std::int64_t& unit_ms)
{
    std::uint64_t whole = 0;
    if (!take_number(text, whole) || whole > static_cast<std::uint64_t>(max_duration_ms)) {
        return std::nullopt;
    }
    std::string_view fraction;
    if (!text.empty() && text.front() == '.') {
        text.remove_prefix(1);
        std::size_t n = 0;
        while (n < text.size() && is_digit(text[n])) ++n;
        if (n == 0 || n > 9) return std::nullopt;
        fraction = text.substr(0, n);
        text.remove_prefix(n);
    }
    const duration_unit* unit = nullptr;
    for (const auto& u : duration_units) {
        if (text.starts_with(u.suffix)) {
            unit = &u;
            break;
        }
    }
    if (!unit) return std::nullopt;
    text.remove_prefix(unit->suffix.size());
    unit_ms = unit->ms;
    std::int64_t fraction_num = 0, fraction_den = 1;
    for (char c : fraction) {
        fraction_num = fraction_num * 10 + (c - '0');
        fraction_den *= 10;
    }
    if ((fraction_num * unit->ms) % fraction_den != 0) return std::nullopt;  // sub-millisecond
    return static_cast<std::int64_t>(whole) * unit->ms + fraction_num * unit->ms / fraction_den;
}

}  // namespace

std::optional<duration> parse_duration(std::string_view text)
{
    if (text == "0") return duration{0};
    if (text.empty()) return std::nullopt;
    std::int64_t total = 0;
    std::int64_t previous_unit = max_duration_ms;
    while (!text.empty()) {
        std::int64_t unit_ms = 0;
        auto part = take_component(text, unit_ms);
        if (!part || unit_ms >= previous_unit) return std::nullopt;
        previous_unit = unit_ms;
        total += *part;
        if (total > max_duration_ms) return std::nullopt;
    }
    return duration{total};
}

std::string format_duration(duration d)
{
    auto ms = d.count();
    if (ms == 0) return "0s";
    std::string out;
    if (ms < 0) {
        out = "-";
        ms = -ms;
    }
    const auto hours = ms / 3'600'000, minutes = ms / 60'000 % 60, seconds = ms / 1000 % 60;
    const auto millis = ms % 1000;
    if (hours) out += std::to_string(hours) + "h";
    if (minutes) out += std::to_string(minutes) + "m";
    if (millis && !hours && !minutes && !seconds) return out + std::to_string(millis) + "ms";
    if (millis) {
        auto digits = std::to_string(1000 + millis).substr(1);  // "050" for 50 ms
        while (digits.back() == '0') digits.pop_back();
        return out + std::to_string(seconds) + "." + digits + "s";
    }
    if (seconds) out += std::to_string(seconds) + "s";
    return out;
}

std::optional<std::uint64_t> parse_size(std::string_view text)
{
    std::uint64_t value = 0;
    if (!take_number(text, value)) return std::nullopt;
    if (text.empty()) return value;
    if (text.size() != 1) return std::nullopt;
    int shift = 0;
    switch (std::tolower(static_cast<unsigned char>(text.front()))) {
    case 'k': shift = 10; break;
    case 'm': shift = 20; break;
    case 'g': shift = 30; break;
    default: return std::nullopt;
    }
    if (value > (UINT64_MAX >> shift)) return std::nullopt;
    return value << shift;
}

std::optional<unsigned> parse_percent(std::string_view text)
{
    if (!text.ends_with('%')) return std::nullopt;
    text.remove_suffix(1);
    unsigned value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || text.empty() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

namespace {

endpoint_parse failed(std::string problem) { return {std::nullopt, std::move(problem)}; }

endpoint_parse tcp_endpoint(std::string_view text, std::string_view host, std::string_view port)
{
    unsigned number = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
    if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || number > 65535) {
        return failed("has port \"" + std::string(port) + "\"; a port is a number 0-65535");
    }
    endpoint e;
    e.type = endpoint::kind::tcp;
    e.host = std::string(host);
    e.port = static_cast<std::uint16_t>(number);
    e.text = std::string(text);
    return {e, ""};
}

}  // namespace

endpoint_parse parse_endpoint(std::string_view text)
{
    if (text.starts_with("unix:")) {
        auto path = text.substr(5);
        if (!path.starts_with('/')) return failed("needs an absolute socket path after unix:");
        endpoint e;
        e.type = endpoint::kind::unix_socket;
        e.path = std::string(path);
        e.text = std::string(text);
        return {e, ""};
    }
    if (text.starts_with('[')) {
        auto close = text.find(']');
        if (close == std::string_view::npos) return failed("has no closing ] after the IPv6 host");
        if (close + 1 >= text.size() || text[close + 1] != ':') return failed("has no port");
        return tcp_endpoint(text, text.substr(1, close - 1), text.substr(close + 2));
    }
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return failed("has no port");
    auto host = text.substr(0, colon);
    if (host.empty()) return failed("has no host (0.0.0.0 means every interface)");
    if (host.find(':') != std::string_view::npos) {
        return failed("has an IPv6 host without brackets (write [::1]:8080)");
    }
    return tcp_endpoint(text, host, text.substr(colon + 1));
}

}  // namespace sluice::config
