#include "config/yaml_reader.hpp"

#include <algorithm>
#include <set>

namespace sluice::config::yaml {

std::string quoted(std::string_view text)
{
    std::string out(1, '"');
    out += text;
    out += '"';
    return out;
}

std::string joined(const std::vector<std::string>& words)
{
    std::string out;
    for (const auto& w : words) {
        if (!out.empty()) out += ", ";
        out += w;
    }
    return out;
}

std::string kind_of(const node& n)
{
    if (n.IsSequence()) return "a list";
    if (n.IsMap()) return "a map";
    if (n.IsNull()) return "no value";
    return quoted(n.Scalar());
}

source_mark reader::mark(const node& n, const std::string& path) const
{
    if (n.IsNull()) {
        if (auto key = marks.find(path); key != marks.end()) return key->second;
    }
    const auto m = n.Mark();
    return {file, m.line + 1, m.column + 1, path};
}

void reader::error(const node& at, const std::string& path, const std::string& what)
{
    errors.push_back(located(mark(at, path), what));
}

void reader::record(const node& key, const node& value, const std::string& path)
{
    marks[path] = mark(value.IsNull() ? key : value, path);
}

const std::string* reader::scalar(const node& n, const std::string& path, std::string_view expected)
{
    if (n.IsScalar()) return &n.Scalar();
    error(n, path, kind_of(n) + "; expected " + std::string(expected));
    return nullptr;
}

bool reader::text(const node& n, const std::string& path, std::string& out)
{
    const auto* s = scalar(n, path, "text");
    if (s) out = *s;
    return s;
}

bool reader::size(const node& n, const std::string& path, std::uint64_t& out)
{
    return parsed(n, path, out, parse_size, "a size", "bytes, or a number with k, m or g");
}

bool reader::percent(const node& n, const std::string& path, unsigned& out)
{
    return parsed(n, path, out, parse_percent, "a percentage", "a whole number with %, like 10%");
}

void reader::port(const node& n, const std::string& path, std::optional<std::uint16_t>& out)
{
    std::uint16_t value = 0;
    if (whole(n, path, value, "a port number 1-65535")) out = value;
}

void reader::address(const node& n, const std::string& path, endpoint& out)
{
    const auto* s = scalar(n, path, "host:port or unix:/path");
    if (!s) return;
    auto result = parse_endpoint(*s);
    if (result.value)
        out = *result.value;
    else
        error(n, path, quoted(*s) + " " + result.problem + "; expected host:port or unix:/path");
}

void walk_map(reader& r, const node& n, const std::string& path,
              const std::vector<std::string>& keys,
              const std::function<void(std::size_t, const node&, const std::string&)>& read)
{
    if (!n.IsMap()) return r.error(n, path, kind_of(n) + "; expected a map of key: value");
    std::set<std::string> seen;
    for (const auto& entry : n) {
        const auto key = entry.first.IsScalar() ? entry.first.Scalar() : kind_of(entry.first);
        const auto child = path.empty() ? key : path + "." + key;
        const auto known = std::find(keys.begin(), keys.end(), key);
        if (known == keys.end()) {
            const auto hint = did_you_mean(key, keys);
            r.error(entry.first, child,
                    "unknown key" + (hint.empty() ? "; expected one of " + joined(keys) : hint));
        } else if (!seen.insert(key).second) {
            r.error(entry.first, child, "set twice; keep one");
        } else {
            r.record(entry.first, entry.second, child);
            read(static_cast<std::size_t>(known - keys.begin()), entry.second, child);
        }
    }
}

void walk_list(reader& r, const node& n, const std::string& path,
               const std::function<void(const node&, const std::string&)>& read_item)
{
    if (!n.IsSequence()) {
        return r.error(n, path, kind_of(n) + "; expected a list (\"- item\" lines or [a, b])");
    }
    for (std::size_t i = 0; i < n.size(); ++i) {
        read_item(n[i], path + "[" + std::to_string(i) + "]");
    }
}

bool read_switch(reader& r, const node& n, const std::string& path, bool& out)
{
    return r.choice(n, path, out, {{"on", true}, {"off", false}, {"true", true}, {"false", false}});
}

void read_statuses(reader& r, const node& n, const std::string& path, std::vector<unsigned>& out)
{
    std::vector<unsigned> statuses;
    const auto read_one = [&](const node& item, const std::string& p) {
        unsigned status = 0;
        if (r.whole(item, p, status, "an HTTP status like 200")) statuses.push_back(status);
    };
    if (n.IsScalar())
        read_one(n, path);
    else
        walk_list(r, n, path, read_one);
    out = std::move(statuses);
}

}  // namespace sluice::config::yaml
