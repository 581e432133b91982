#include "proxy/message_head.hpp"

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
void append_fields(std::string& out, const fields& f)
{
    std::size_t size = out.size() + 2;
    for (const auto& field : f)
        size += field.name_string().size() + field.value().size() + 4;
    const auto start = out.size();
    out.resize(size);
    char* p = out.data() + start;
    auto put = [&p](boost::beast::string_view s) {
        std::memcpy(p, s.data(), s.size());
        p += s.size();
    };
    for (const auto& field : f) {
        put(field.name_string());
        put(": ");
        put(field.value());
        put("\r\n");
    }
    put("\r\n");
}

}  // namespace

void write_head(const request_head& h, std::string& out)
{
    append(out, h.method_string());
    out += ' ';
    append(out, h.target());
    out += ' ';
    append_version(out, h.version());
    out += "\r\n";
    append_fields(out, h);
}

void write_head(const response_head& h, std::string& out)
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
    append_fields(out, h);
}

}  // namespace sluice::proxy
