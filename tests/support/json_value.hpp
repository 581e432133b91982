#pragma once
// A small JSON reader for the integration tests: enough to walk /status and the admin API's
// answers. Strict about syntax (parse_json refuses anything that is not one JSON value).

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::test {

// A JSON value, enough to walk /status: objects, arrays, strings (escapes kept raw but for
// \" and \\), numbers, true/false/null.
struct json {
    enum class kind { null, boolean, number, string, array, object } type = kind::null;
    double number = 0;
    std::string text;  // string value, or "true"/"false"
    std::vector<json> items;
    std::map<std::string, json> fields;

    const json* get(const std::string& key) const
    {
        auto it = fields.find(key);
        return it == fields.end() ? nullptr : &it->second;
    }
};

class json_parser {
public:
    explicit json_parser(std::string_view in) : in_(in) {}

    // nullopt unless `in` is one JSON value with nothing but white space after it.
    std::optional<json> parse_document()
    {
        auto v = value();
        skip_space();
        if (!v || at_ != in_.size()) return std::nullopt;
        return v;
    }

private:
    void skip_space()
    {
        while (at_ < in_.size() &&
               (in_[at_] == ' ' || in_[at_] == '\n' || in_[at_] == '\r' || in_[at_] == '\t'))
            ++at_;
    }
    bool eat(char c)
    {
        skip_space();
        if (at_ < in_.size() && in_[at_] == c) {
            ++at_;
            return true;
        }
        return false;
    }
    bool word(std::string_view w)
    {
        if (in_.substr(at_, w.size()) != w) return false;
        at_ += w.size();
        return true;
    }
    std::optional<std::string> string()
    {
        if (!eat('"')) return std::nullopt;
        std::string out;
        while (at_ < in_.size() && in_[at_] != '"') {
            char c = in_[at_++];
            if (static_cast<unsigned char>(c) < 0x20) return std::nullopt;
            if (c == '\\') {
                if (at_ >= in_.size()) return std::nullopt;
                c = in_[at_++];
                if (std::string_view{"\"\\/bfnrtu"}.find(c) == std::string_view::npos)
                    return std::nullopt;
                if (c != '"' && c != '\\') out += '\\';
            }
            out += c;
        }
        if (at_ >= in_.size()) return std::nullopt;
        ++at_;
        return out;
    }
    std::optional<json> value()
    {
        if (++depth_ > 64) return std::nullopt;
        struct leave {
            int& d;
            ~leave() { --d; }
        } guard{depth_};
        skip_space();
        if (at_ >= in_.size()) return std::nullopt;
        json v;
        char c = in_[at_];
        if (c == '{') {
            ++at_;
            v.type = json::kind::object;
            if (eat('}')) return v;
            do {
                auto key = string();
                if (!key || !eat(':')) return std::nullopt;
                auto item = value();
                if (!item) return std::nullopt;
                v.fields[*key] = std::move(*item);
            } while (eat(','));
            return eat('}') ? std::optional{v} : std::nullopt;
        }
        if (c == '[') {
            ++at_;
            v.type = json::kind::array;
            if (eat(']')) return v;
            do {
                auto item = value();
                if (!item) return std::nullopt;
                v.items.push_back(std::move(*item));
            } while (eat(','));
            return eat(']') ? std::optional{v} : std::nullopt;
        }
        if (c == '"') {
            auto s = string();
            if (!s) return std::nullopt;
            v.type = json::kind::string;
            v.text = std::move(*s);
            return v;
        }
        if (word("true") || word("false")) {
            v.type = json::kind::boolean;
            v.text = c == 't' ? "true" : "false";
            return v;
        }
        if (word("null")) return v;
        std::size_t used = 0;
        try {
            v.number = std::stod(std::string(in_.substr(at_, 40)), &used);
        } catch (const std::exception&) {
            return std::nullopt;
        }
        if (used == 0 || c == '+' || c == '.') return std::nullopt;
        at_ += used;
        v.type = json::kind::number;
        return v;
    }

    std::string_view in_;
    std::size_t at_ = 0;
    int depth_ = 0;
};

inline std::optional<json> parse_json(std::string_view text)
{
    return json_parser{text}.parse_document();
}

}  // namespace sluice::test
