#pragma once
// Private to the loader (only loader.cpp and yaml_reader.cpp include it, which keeps yaml-cpp out
// of every other file): typed reads off yaml-cpp nodes that collect every error with its
// file:line:col and key path instead of stopping at the first, and remember where each key was.
// loader.cpp holds the schema (which keys exist); this file knows how a key is read.

#include "config/model.hpp"
#include "config/units.hpp"
#include "config/validator.hpp"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <functional>
#include <limits>
#include <map>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

namespace sluice::config::yaml {

using node = YAML::Node;

std::string quoted(std::string_view text);
std::string joined(const std::vector<std::string>& words);  // "a, b, c"
// For messages: "a list", "a map", "no value", or the quoted scalar.
std::string kind_of(const node& n);

struct reader {
    std::string file;
    std::vector<std::string> errors, warnings;
    std::map<std::string, source_mark, std::less<>> marks;  // every key read, by path

    // An empty value (`key:` with nothing after it) is placed at its key, because yaml-cpp marks
    // it wherever the scanner stopped, often lines later.
    source_mark mark(const node& n, const std::string& path) const;
    void error(const node& at, const std::string& path, const std::string& what);
    bool declared(const std::string& path) const { return marks.contains(path); }
    // Remembers where the key at `path` was written.
    void record(const node& key, const node& value, const std::string& path);

    // The scalar's text, or nullptr after reporting that `expected` was wanted instead.
    const std::string* scalar(const node& n, const std::string& path, std::string_view expected);

    // Each read below reports its own error and leaves `out` alone when the value is wrong.
    bool text(const node& n, const std::string& path, std::string& out);
    bool size(const node& n, const std::string& path, std::uint64_t& out);
    bool percent(const node& n, const std::string& path, unsigned& out);
    void port(const node& n, const std::string& path, std::optional<std::uint16_t>& out);
    void address(const node& n, const std::string& path, endpoint& out);

    template <class Int>
    bool whole(const node& n, const std::string& path, Int& out,
               std::string_view expected = "a whole number like 100");

    // For the units parsers: `out` may be the value type or an optional of it.
    template <class T, class Parse>
    bool parsed(const node& n, const std::string& path, T& out, Parse parse, std::string_view noun,
                std::string_view expected);

    template <class T>  // duration or std::optional<duration>
    bool time(const node& n, const std::string& path, T& out)
    {
        return parsed(n, path, out, parse_duration, "a duration",
                      "a number with a unit: 250ms, 2s, 1m, 1h (or 0)");
    }

    template <class E>
    bool choice(const node& n, const std::string& path, E& out,
                std::initializer_list<std::pair<std::string_view, E>> options);
};

template <class Int>
bool reader::whole(const node& n, const std::string& path, Int& out, std::string_view expected)
{
    const auto* s = scalar(n, path, expected);
    if (!s) return false;
    std::uint64_t v = 0;
    const auto* last = s->data() + s->size();
    auto [end, ec] = std::from_chars(s->data(), last, v);
    const auto max = std::numeric_limits<Int>::max();
    if (ec == std::errc::result_out_of_range || (ec == std::errc{} && end == last && v > max)) {
        error(n, path, quoted(*s) + " is too large; expected at most " + std::to_string(max));
        return false;
    }
    if (ec != std::errc{} || end != last) {
        error(n, path, quoted(*s) + " is not a whole number; expected " + std::string(expected));
        return false;
    }
    out = static_cast<Int>(v);
    return true;
}

template <class T, class Parse>
bool reader::parsed(const node& n, const std::string& path, T& out, Parse parse,
                    std::string_view noun, std::string_view expected)
{
    const auto* s = scalar(n, path, expected);
    if (!s) return false;
    auto value = parse(*s);
    if (value)
        out = *value;
    else
        error(n, path,
              quoted(*s) + " is not " + std::string(noun) + "; expected " + std::string(expected));
    return value.has_value();
}

template <class E>
bool reader::choice(const node& n, const std::string& path, E& out,
                    std::initializer_list<std::pair<std::string_view, E>> options)
{
    std::vector<std::string> names;
    for (const auto& option : options) names.emplace_back(option.first);
    const auto* s = scalar(n, path, "one of " + joined(names));
    if (!s) return false;
    for (const auto& [name, value] : options) {
        if (*s != name) continue;
        out = value;
        return true;
    }
    error(n, path,
          quoted(*s) + " is not allowed here; expected one of " + joined(names) +
              did_you_mean(*s, names));
    return false;
}

// Walks a map: reports keys set twice and unknown keys (with the closest known one), records the
// mark of every known key and hands its value to `read` with the key's index in `keys`.
void walk_map(reader& r, const node& n, const std::string& path,
              const std::vector<std::string>& keys,
              const std::function<void(std::size_t, const node&, const std::string&)>& read);

void walk_list(reader& r, const node& n, const std::string& path,
               const std::function<void(const node&, const std::string&)>& read_item);

// on | off | true | false
bool read_switch(reader& r, const node& n, const std::string& path, bool& out);

// One status (`503`) or a list of them (`[502, 503]`).
void read_statuses(reader& r, const node& n, const std::string& path, std::vector<unsigned>& out);

// One row of a schema table: a key and how to read its value into a T.
template <class T>
struct field {
    std::string_view key;
    void (*read)(reader&, const node&, const std::string&, T&);  // nullptr: the caller reads it
};

template <class T>
void read_map(reader& r, const node& n, const std::string& path,
              std::type_identity_t<std::span<const field<T>>> fields, T& out)
{
    std::vector<std::string> keys;
    for (const auto& f : fields) keys.emplace_back(f.key);
    walk_map(r, n, path, keys, [&](std::size_t i, const node& value, const std::string& p) {
        if (fields[i].read) fields[i].read(r, value, p, out);
    });
}

struct required_key {
    std::string_view key;
    std::string_view example;
};

// A list of objects, each with its mark; a missing required key is reported at the object.
template <class T>
void read_items(reader& r, const node& n, const std::string& path,
                std::type_identity_t<std::span<const field<T>>> fields, std::vector<T>& out,
                std::initializer_list<required_key> required)
{
    walk_list(r, n, path, [&](const node& item, const std::string& item_path) {
        T value;
        value.mark = r.mark(item, item_path);
        read_map(r, item, item_path, fields, value);
        for (const auto& [key, example] : required) {
            const auto key_path = item_path + "." + std::string(key);
            if (item.IsMap() && !r.declared(key_path)) {
                r.error(item, key_path, "missing; add e.g. `" + std::string(example) + "`");
            }
        }
        out.push_back(std::move(value));
    });
}

// Global timeouts (member = &timeout_field::value) or a route's (&timeout_field::override_value).
template <class Timeouts, class Member>
void read_timeouts(reader& r, const node& n, const std::string& path, Timeouts& out,
                   Member timeout_field::*member)
{
    std::vector<std::string> keys;
    for (const auto& f : timeout_fields) keys.emplace_back(f.key);
    walk_map(r, n, path, keys, [&](std::size_t i, const node& value, const std::string& p) {
        r.time(value, p, out.*(timeout_fields[i].*member));
    });
}

}  // namespace sluice::config::yaml
