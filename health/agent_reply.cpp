#include "health/agent_reply.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <utility>

namespace sluice::health {
namespace {

constexpr std::string_view separators = " \t,";
constexpr std::string_view blanks = " \t";

bool iequals(std::string_view a, std::string_view b)
{
    return std::ranges::equal(a, b, [](char x, char y) {
        auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
        return lower(x) == lower(y);
    });
}

bool istarts_with(std::string_view s, std::string_view prefix)
{
    return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

// Digits only: no sign, no blanks, nothing after, fits 32 bits.
std::optional<unsigned> parse_number(std::string_view digits)
{
    unsigned value = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size())
        return std::nullopt;
    return value;
}

constexpr std::array<std::pair<std::string_view, agent_admin>, 3> admin_words{{
    {"ready", agent_admin::ready},
    {"drain", agent_admin::drain},
    {"maint", agent_admin::maint},
}};
constexpr std::array<std::pair<std::string_view, agent_health>, 4> health_words{{
    {"up", agent_health::up},
    {"down", agent_health::down},
    {"fail", agent_health::fail},
    {"stopped", agent_health::stopped},
}};

template <class Table>
auto find_word(const Table& table, std::string_view word)
    -> std::optional<typename Table::value_type::second_type>
{
    for (const auto& [name, value] : table)
        if (iequals(word, name)) return value;
    return std::nullopt;
}

enum class word_result { applied, unknown, invalid };

// "75%", "weight:75%" or "weight:3" (`number` is what follows "weight:" or the whole word).
word_result parse_weight(std::string_view number, bool prefixed, agent_reply& reply)
{
    const bool relative = number.ends_with('%');
    if (relative) number.remove_suffix(1);
    if (!relative && !prefixed) return word_result::unknown;  // a bare "75" means nothing
    auto value = parse_number(number);
    if (!value || (!relative && *value > agent_max_weight)) return word_result::invalid;
    reply.weight = agent_weight{*value, relative};
    return word_result::applied;
}

word_result parse_word(std::string_view word, agent_reply& reply)
{
    if (auto admin = find_word(admin_words, word)) {
        reply.admin = admin;
        return word_result::applied;
    }
    if (auto health = find_word(health_words, word)) {
        reply.health = health;
        return word_result::applied;
    }
    if (istarts_with(word, "maxconn:")) {
        auto value = parse_number(word.substr(8));
        if (!value) return word_result::invalid;
        reply.max_connections = value;
        return word_result::applied;
    }
    if (istarts_with(word, "weight:")) return parse_weight(word.substr(7), true, reply);
    // HAProxy takes a word as a weight when it starts with a digit and holds a '%'.
    if (word.front() >= '0' && word.front() <= '9' && word.find('%') != word.npos)
        return parse_weight(word, false, reply);
    return word_result::unknown;
}

std::string_view trim(std::string_view s)
{
    auto first = s.find_first_not_of(blanks);
    if (first == s.npos) return {};
    return s.substr(first, s.find_last_not_of(blanks) - first + 1);
}

std::string quoted(std::string_view word)
{
    std::string out(1, '\'');
    out.append(word).push_back('\'');
    return out;
}

}  // namespace

std::optional<agent_reply> parse_agent_reply(std::string_view line, std::string* problem)
{
    std::string ignored;
    auto fail = [&](std::string why) -> std::optional<agent_reply> {
        if (problem) *problem = std::move(why);
        return std::nullopt;
    };
    line = line.substr(0, line.find_first_of("\r\n"));
    agent_reply reply;
    bool recognised = false;
    while (!line.empty()) {
        auto start = line.find_first_not_of(separators);
        if (start == line.npos) break;
        line.remove_prefix(start);
        if (line.front() == '#') {
            reply.reason = std::string(trim(line.substr(1)));
            recognised = true;
            break;
        }
        auto word = line.substr(0, line.find_first_of(separators));
        line.remove_prefix(word.size());
        switch (parse_word(word, reply)) {
        case word_result::applied: recognised = true; break;
        case word_result::invalid: return fail("invalid value in " + quoted(word));
        case word_result::unknown: ignored += (ignored.empty() ? "" : ", ") + quoted(word); break;
        }
    }
    if (!recognised && !ignored.empty()) return fail("no known word in the reply: " + ignored);
    if (problem) *problem = ignored.empty() ? "" : "ignored unknown words: " + ignored;
    return reply;
}

std::string describe(const agent_reply& reply)
{
    std::string out;
    auto add = [&out](std::string_view word) {
        if (!out.empty()) out += ' ';
        out += word;
    };
    if (reply.weight) {
        const auto& w = *reply.weight;
        add(w.relative ? std::to_string(w.value) + "%" : "weight:" + std::to_string(w.value));
    }
    if (reply.max_connections) add("maxconn:" + std::to_string(*reply.max_connections));
    if (reply.admin) add(to_string(*reply.admin));
    if (reply.health) add(to_string(*reply.health));
    if (reply.reason) {
        if (out.empty()) return "#" + *reply.reason;
        out += " (#" + *reply.reason + ")";
    }
    return out;
}

std::string_view to_string(agent_admin admin)
{
    for (const auto& [name, value] : admin_words)
        if (value == admin) return name;
    return "?";
}

std::string_view to_string(agent_health health)
{
    for (const auto& [name, value] : health_words)
        if (value == health) return name;
    return "?";
}

}  // namespace sluice::health
