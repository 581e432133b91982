#pragma once
// One access-log line: a flat JSON object. Values are kept as text (strings unquoted and
// unescaped, numbers, true/false/null as written); nested values are kept raw.

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::test {

class json_line {
public:
    // nullopt when the line is not a JSON object.
    static std::optional<json_line> parse(std::string_view line);

    bool has(const std::string& key) const { return fields_.count(key) > 0; }
    std::string operator[](const std::string& key) const;  // "" when absent
    double number(const std::string& key) const;           // NaN when absent or not a number
    const std::map<std::string, std::string>& fields() const { return fields_; }
    const std::string& text() const { return text_; }

private:
    std::map<std::string, std::string> fields_;
    std::string text_;
};

}  // namespace sluice::test
