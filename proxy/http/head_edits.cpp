#include "proxy/http/head_edits.hpp"

#include <boost/beast/core/string.hpp>

#include <stdexcept>

namespace sluice::proxy {

namespace {

bool is_hop_by_hop(http::field name, bool keep_upgrade)
{
    switch (name) {
    case http::field::connection:
    case http::field::keep_alive:
    case http::field::te:
    case http::field::trailer:
    case http::field::proxy_connection: return true;
    case http::field::upgrade: return !keep_upgrade;
    default: return false;
    }
}

// Sizes first, inline: most names differ in length, and iequals is a call into Beast.
bool same_name(std::string_view a, std::string_view b)
{
    return a.size() == b.size() && boost::beast::iequals(a, b);
}

}  // namespace

void head_edits::set(std::string_view name, std::string_view value)
{
    for (std::size_t i = 0; i < values_.size(); ++i) {
        if (same_name(names_[i], name)) {
            values_[i].assign(value);
            return;
        }
    }
    if (values_.size() == max_lines)
        throw std::logic_error("head_edits: more than max_lines lines set");
    names_[values_.size()] = name;
    values_.emplace_back(value);
}

void head_edits::append(const fields& f, std::string_view name, std::string_view value)
{
    std::pmr::string joined(values_.get_allocator());
    for (const auto& field : f) {
        if (!same_name(field.name_string(), name)) continue;
        joined.append(field.value().data(), field.value().size());
        joined += ", ";
    }
    if (joined.empty()) {
        set(name, value);
        return;
    }
    joined += value;
    set(name, joined);
}

bool head_edits::leaves_out(const fields::value_type& f) const
{
    if (is_hop_by_hop(f.name(), keep_upgrade)) return true;
    for (std::size_t i = 0; i < values_.size(); ++i)
        if (same_name(f.name_string(), names_[i])) return true;
    return false;
}

std::size_t head_edits::written_size() const
{
    std::size_t size = 0;
    for (std::size_t i = 0; i < values_.size(); ++i)
        size += names_[i].size() + values_[i].size() + 4;
    return size;
}

}  // namespace sluice::proxy
