#include "proxy/http/uwsgi_request.hpp"

#include <algorithm>

namespace sluice::proxy {

namespace {

int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

char ascii_upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

bool ascii_iequals(std::string_view a, std::string_view b)
{
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return ascii_upper(x) == ascii_upper(y);
           });
}

// "" when the header must not reach the app (see the mapping rules in the header file).
std::string cgi_name(std::string_view header)
{
    if (header.empty() || ascii_iequals(header, "Content-Length") ||
        ascii_iequals(header, "Transfer-Encoding"))
        return "";
    if (ascii_iequals(header, "Content-Type")) return "CONTENT_TYPE";
    std::string out = "HTTP_";
    for (char c : header) {
        bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (!alnum && c != '-') return "";
        out += c == '-' ? '_' : ascii_upper(c);
    }
    return out;
}

struct var {
    std::string key;
    std::string value;
};

// Repeated fields fold into the first one's var, in arrival order.
void add_headers(std::vector<var>& vars, const uwsgi_head_input& in)
{
    auto first_header = vars.size();
    for (const auto& [name, value] : in.headers) {
        auto key = cgi_name(name);
        if (key.empty()) continue;
        auto same = std::find_if(vars.begin() + static_cast<std::ptrdiff_t>(first_header),
                                 vars.end(), [&](const var& v) { return v.key == key; });
        if (same == vars.end()) {
            vars.push_back({std::move(key), std::string(value)});
            continue;
        }
        same->value += key == "HTTP_COOKIE" ? "; " : ", ";
        same->value += value;
    }
}

std::vector<var> build_vars(const uwsgi_head_input& in)
{
    auto query_at = in.target.find('?');
    auto path = in.target.substr(0, query_at);
    auto query = query_at == std::string_view::npos ? std::string_view{}
                                                    : in.target.substr(query_at + 1);
    std::vector<var> vars{
        {"REQUEST_METHOD", std::string(in.method)},   {"REQUEST_URI", std::string(in.target)},
        {"PATH_INFO", percent_decode(path)},          {"QUERY_STRING", std::string(query)},
        {"SERVER_PROTOCOL", std::string(in.version)},
    };
    if (in.content_length) vars.push_back({"CONTENT_LENGTH", std::to_string(*in.content_length)});
    for (auto [key, value] : {std::pair{"REMOTE_ADDR", in.remote_addr},
                              {"REMOTE_PORT", in.remote_port},
                              {"SERVER_NAME", in.server_name},
                              {"SERVER_PORT", in.server_port},
                              {"REQUEST_SCHEME", in.server_protocol_scheme},
                              {"UWSGI_SCHEME", in.server_protocol_scheme}})
        vars.push_back({key, std::string(value)});
    if (in.server_protocol_scheme == "https") vars.push_back({"HTTPS", "on"});
    vars.push_back({"SCRIPT_NAME", ""});
    add_headers(vars, in);
    return vars;
}

void append_le16(std::string& out, std::size_t value)
{
    out += static_cast<char>(value & 0xff);
    out += static_cast<char>((value >> 8) & 0xff);
}

}  // namespace

std::string percent_decode(std::string_view text)
{
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        int high = text[i] == '%' && i + 2 < text.size() ? hex_value(text[i + 1]) : -1;
        int low = high >= 0 ? hex_value(text[i + 2]) : -1;
        if (low < 0) {
            out += text[i];
            continue;
        }
        out += static_cast<char>(high * 16 + low);
        i += 2;
    }
    return out;
}

uwsgi_encoding encode_uwsgi_request(const uwsgi_head_input& in)
{
    auto vars = build_vars(in);
    std::size_t size = 0;
    for (const auto& v : vars) size += 2 + v.key.size() + 2 + v.value.size();
    if (size > uwsgi_max_vars_size)
        return {"", "uwsgi request head is " + std::to_string(size) +
                        " bytes as uwsgi vars, over uWSGI's limit of 65535"};
    uwsgi_encoding out;
    out.packet.reserve(4 + size);
    out.packet += '\0';  // modifier1 0: a WSGI/CGI request
    append_le16(out.packet, size);
    out.packet += '\0';  // modifier2
    for (const auto& v : vars) {
        append_le16(out.packet, v.key.size());
        out.packet += v.key;
        append_le16(out.packet, v.value.size());
        out.packet += v.value;
    }
    return out;
}

}  // namespace sluice::proxy
