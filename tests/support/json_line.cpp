#include "support/json_line.hpp"

#include <cmath>
#include <cstdlib>

namespace sluice::test {

namespace {

// A cursor over one line of JSON; every parse step returns false on malformed input.
struct reader {
    std::string_view s;
    std::size_t i = 0;

    void skip_space()
    {
        while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')) ++i;
    }
    bool eat(char c)
    {
        skip_space();
        if (i >= s.size() || s[i] != c) return false;
        ++i;
        return true;
    }
    bool string(std::string& out)
    {
        if (!eat('"')) return false;
        for (; i < s.size(); ++i) {
            char c = s[i];
            if (c == '"') {
                ++i;
                return true;
            }
            if (c != '\\') {
                out += c;
                continue;
            }
            if (++i >= s.size()) return false;
            switch (s[i]) {
            case 'n': out += '\n'; break;
            case 't': out += '\t'; break;
            case 'r': out += '\r'; break;
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'u':  // kept as written: the tests compare ASCII
                out += "\\u";
                break;
            default: out += s[i];
            }
        }
        return false;
    }
    // A number, literal, or a nested object/array kept raw.
    bool raw_value(std::string& out)
    {
        skip_space();
        auto start = i;
        int depth = 0;
        bool in_string = false;
        for (; i < s.size(); ++i) {
            char c = s[i];
            if (in_string) {
                if (c == '\\')
                    ++i;
                else if (c == '"')
                    in_string = false;
            } else if (c == '"') {
                in_string = true;
            } else if (c == '{' || c == '[') {
                ++depth;
            } else if (c == '}' || c == ']') {
                if (depth == 0) break;
                --depth;
            } else if (c == ',' && depth == 0) {
                break;
            }
        }
        out = std::string(s.substr(start, i - start));
        while (!out.empty() && (out.back() == ' ' || out.back() == '\t')) out.pop_back();
        return !out.empty();
    }
};

}  // namespace

std::optional<json_line> json_line::parse(std::string_view line)
{
    json_line out;
    out.text_ = std::string(line);
    reader r{line};
    if (!r.eat('{')) return std::nullopt;
    if (r.eat('}')) return out;
    do {
        std::string key, value;
        if (!r.string(key) || !r.eat(':')) return std::nullopt;
        r.skip_space();
        bool ok = r.i < line.size() && line[r.i] == '"' ? r.string(value) : r.raw_value(value);
        if (!ok) return std::nullopt;
        out.fields_[key] = value;
    } while (r.eat(','));
    if (!r.eat('}')) return std::nullopt;
    return out;
}

std::string json_line::operator[](const std::string& key) const
{
    auto it = fields_.find(key);
    return it == fields_.end() ? "" : it->second;
}

double json_line::number(const std::string& key) const
{
    auto it = fields_.find(key);
    if (it == fields_.end() || it->second.empty()) return NAN;
    char* end = nullptr;
    double v = std::strtod(it->second.c_str(), &end);
    return *end == '\0' ? v : NAN;
}

}  // namespace sluice::test
