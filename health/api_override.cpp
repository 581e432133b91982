#include "health/api_override.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace sluice::health {
namespace {

constexpr unsigned max_percent = 100000;  // 1000 × the configured weight: past any real use

std::string_view trimmed(std::string_view s)
{
    const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    while (!s.empty() && space(s.front())) s.remove_prefix(1);
    while (!s.empty() && space(s.back())) s.remove_suffix(1);
    return s;
}

// A body is echoed in the error; a long or binary one is cut to something readable.
std::string shown(std::string_view body)
{
    std::string out = "\"";
    for (char c : body.substr(0, 40)) out += std::isprint(static_cast<unsigned char>(c)) ? c : '?';
    out += body.size() > 40 ? "...\"" : "\"";
    return out;
}

bool equals_lower(std::string_view a, std::string_view lower)
{
    return a.size() == lower.size() &&
           std::equal(a.begin(), a.end(), lower.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == y;
           });
}

}  // namespace

api_parse parse_state_body(std::string_view body)
{
    const auto word = trimmed(body);
    for (auto admin : {agent_admin::ready, agent_admin::drain, agent_admin::maint})
        if (equals_lower(word, to_string(admin))) return {admin, ""};
    return {std::nullopt, "expected ready, drain or maint as the body; got " + shown(word)};
}

api_parse parse_weight_body(std::string_view body)
{
    auto text = trimmed(body);
    const bool relative = !text.empty() && text.back() == '%';
    if (relative) text.remove_suffix(1);
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    const unsigned limit = relative ? max_percent : agent_max_weight;
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || value > limit)
        return {std::nullopt, "expected a weight N (0-256) or N% of the configured weight "
                              "(0%-100000%; 0% drains) as the body; got " +
                                  shown(trimmed(body))};
    return {agent_weight{value, relative}, ""};
}

api_override apply(api_override current, const api_change& change)
{
    if (const auto* admin = std::get_if<agent_admin>(&change)) {
        current.admin = *admin;
        if (*admin == agent_admin::ready && current.weight && current.weight->value == 0)
            current.weight.reset();
    } else {
        current.weight = std::get<agent_weight>(change);
    }
    return current;
}

std::string describe(const api_change& change)
{
    if (const auto* admin = std::get_if<agent_admin>(&change))
        return std::string(to_string(*admin));
    const auto& w = std::get<agent_weight>(change);
    return w.relative ? std::to_string(w.value) + "%" : "weight " + std::to_string(w.value);
}

std::string describe(const api_override& o)
{
    std::string out;
    if (o.admin != agent_admin::ready) out = to_string(o.admin);
    if (o.weight) {
        if (!out.empty()) out += ' ';
        out += describe(api_change{*o.weight});
    }
    return out;
}

}  // namespace sluice::health
