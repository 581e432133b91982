#include "health/check_failure.hpp"

#include <cstdio>

namespace sluice::health {

namespace {

std::string hint(config::protocol p)
{
    return p == config::protocol::uwsgi
               ? "; uWSGI answers a uwsgi packet with an HTTP response: check that the address "
                 "is uWSGI's `socket` (or `uwsgi-socket`), and if the server speaks HTTP, set "
                 "`protocol: http` on the backend"
               : "; if it is a uWSGI socket (`socket` / `uwsgi-socket`), set `protocol: uwsgi` "
                 "on the backend";
}

}  // namespace

std::string printable_bytes(std::string_view data)
{
    std::string out;
    for (unsigned char ch : data.substr(0, 24)) {
        if (ch >= 0x20 && ch < 0x7f) {
            out += static_cast<char>(ch);
            continue;
        }
        char hex[8];
        std::snprintf(hex, sizeof hex, "\\x%02x", ch);
        out += hex;
    }
    return "\"" + out + "\"";
}

std::string closed_without_answer(config::protocol p)
{
    return "the server closed the connection without answering" + hint(p);
}

std::string not_an_http_answer(config::protocol p, std::string_view seen)
{
    return "answered " + printable_bytes(seen) + ", which is not an HTTP response" + hint(p);
}

}  // namespace sluice::health
