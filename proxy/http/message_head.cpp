#include "proxy/http/message_head.hpp"

#include <charconv>
#include <cstring>

namespace sluice::proxy {

namespace {

void append(std::string& out, boost::beast::string_view s) { out.append(s.data(), s.size()); }

void append_version(std::string& out, unsigned version)
{
    out += version >= 11 ? "HTTP/1.1" : "HTTP/1.0";
}

// Sized once, then copied: cheaper than growing the string field by field.
void append_fields(std::string& out, const fields& f, const head_edits& edits)
{
    std::size_t size = out.size() + 2 + edits.written_size();
    for (const auto& field : f) size += field.name_string().size() + field.value().size() + 4;
    const auto start = out.size();
    out.resize(size);
    char* p = out.data() + start;
    auto put = [&p](std::string_view s) {
        std::memcpy(p, s.data(), s.size());
        p += s.size();
    };
    auto put_line = [&put](std::string_view name, std::string_view value) {
        put(name);
        put(": ");
        put(value);
        put("\r\n");
    };
    for (const auto& field : f)
        if (!edits.leaves_out(field)) put_line(field.name_string(), field.value());
    edits.for_each(put_line);
    put("\r\n");
    out.resize(static_cast<std::size_t>(p - out.data()));  // left-out fields were counted
}

}  // namespace

void write_head(const request_head& h, const head_edits& edits, std::string& out)
{
    append(out, h.method_string());
    out += ' ';
    append(out, h.target());
    out += ' ';
    append_version(out, h.version());
    out += "\r\n";
    append_fields(out, h, edits);
}

void write_head(const response_head& h, const head_edits& edits, std::string& out)
{
    append_version(out, h.version());
    char code[8];
    auto [end, ec] = std::to_chars(code, code + sizeof code, h.result_int());
    out += ' ';
    out.append(code, end);
    out += ' ';
    const auto reason = h.reason();
    append(out, reason.empty() ? http::obsolete_reason(h.result()) : reason);
    out += "\r\n";
    append_fields(out, h, edits);
}

}  // namespace sluice::proxy
