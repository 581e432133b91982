#include "proxy/http/deadline_header.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <optional>

namespace sluice::proxy {

namespace {

// A plain count of milliseconds; more than 12 digits (30 years) is not a deadline.
std::optional<std::chrono::milliseconds> parse_milliseconds(std::string_view text)
{
    if (text.empty() || text.size() > 12) return std::nullopt;
    std::int64_t value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        value = value * 10 + (c - '0');
    }
    return std::chrono::milliseconds(value);
}

}  // namespace

std::chrono::milliseconds request_budget(const request_head& req, std::string_view header,
                                         std::chrono::milliseconds configured)
{
    if (header.empty()) return configured;
    auto budget = configured;
    auto [first, last] = req.equal_range(header);
    for (auto it = first; it != last; ++it)
        if (auto asked = parse_milliseconds(it->value())) budget = std::min(budget, *asked);
    return budget;
}

void set_deadline_header(head_edits& edits, std::string_view header,
                         std::chrono::milliseconds remaining)
{
    char text[24];
    auto [end, ec] = std::to_chars(text, text + sizeof text,
                                   std::max<std::int64_t>(remaining.count(), 0));
    edits.set(header, std::string_view(text, static_cast<std::size_t>(end - text)));
}

}  // namespace sluice::proxy
