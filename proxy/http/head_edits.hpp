#pragma once
// What a hop changes in a message head, applied while the head is written out (write_head) or
// turned into uwsgi vars, instead of to Beast's fields, where every added or replaced line costs
// an element and a walk of the name index. The parsed fields stay as they are; only rare cases
// (a header named in Connection, chunked to an HTTP/1.0 client) edit them in place.

#include "proxy/http/message_types.hpp"

#include <array>
#include <memory_resource>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::proxy {

class head_edits {
public:
    explicit head_edits(header_allocator a = {}) : values_(a) { values_.reserve(max_lines); }

    // Hop-by-hop fields (RFC 9110 7.6.1) are left out; Upgrade too unless this is set.
    bool keep_upgrade = false;

    // `name` gets `value`: fields of that name are left out and this line is written instead.
    // `name` must outlive the edits (a constant, or a name from the config snapshot).
    void set(std::string_view name, std::string_view value);
    // Like set(), with the values of the head's own `name` fields first, joined with ", ": for
    // list headers (X-Forwarded-For, Via).
    void append(const fields& f, std::string_view name, std::string_view value);

    bool leaves_out(const fields::value_type& f) const;

    // Calls `fn(name, value)` for each line set, in the order first set.
    template <class Fn>
    void for_each(Fn&& fn) const
    {
        for (std::size_t i = 0; i < values_.size(); ++i)
            fn(names_[i], std::string_view(values_[i]));
    }
    // Bytes of the lines as written ("Name: value\r\n" each).
    std::size_t written_size() const;

private:
    static constexpr std::size_t max_lines = 8;
    std::array<std::string_view, max_lines> names_{};
    std::pmr::vector<std::pmr::string> values_;  // from the exchange's arena
};

}  // namespace sluice::proxy
