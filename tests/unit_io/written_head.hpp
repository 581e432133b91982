#pragma once
// The text of a head as the proxy writes it, and how often a part occurs in it: for the tests of
// what the proxy's head rewriting puts on the wire.

#include "proxy/http/head_edits.hpp"
#include "proxy/http/message_head.hpp"

#include <string>

namespace sluice::proxy {

inline std::string written(const request_head& req, const head_edits& edits)
{
    std::string out;
    write_head(req, edits, out);
    return out;
}

inline std::size_t count_of(const std::string& text, const std::string& part)
{
    std::size_t n = 0;
    for (auto pos = text.find(part); pos != std::string::npos; pos = text.find(part, pos + 1)) ++n;
    return n;
}

}  // namespace sluice::proxy
