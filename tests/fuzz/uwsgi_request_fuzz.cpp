// The uwsgi encoder (proxy/http/uwsgi_request): any head in, a packet uWSGI can read or an error.
// Beyond "no crash": the packet decodes back exactly (the datasize is the vars block, each var's
// sizes fit), no var name is sent twice, the request line comes through as given, and the
// header vars are HTTP_[A-Z0-9_]+ or CONTENT_TYPE (nothing a client names can pass as one of the
// proxy's own vars); an error comes only with a head over uWSGI's 64 KiB.

#include "proxy/http/uwsgi_request.hpp"
#include "tests/fuzz/property.hpp"

#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdlib>
#include <map>
#include <set>
#include <string>

using namespace sluice::proxy;

namespace {

std::size_t le16(const std::string& s, std::size_t at)
{
    return static_cast<unsigned char>(s[at]) | static_cast<unsigned char>(s[at + 1]) << 8;
}

bool header_var(const std::string& key)
{
    if (key == "CONTENT_TYPE") return true;
    if (key.size() <= 5 || key.compare(0, 5, "HTTP_") != 0) return false;
    for (char c : key.substr(5))
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size)
{
    FuzzedDataProvider in(bytes, size);
    // The strings live here; the input holds views of them.
    std::vector<std::string> text;
    text.reserve(64);
    auto take = [&](std::size_t max) -> std::string_view {
        text.push_back(in.ConsumeRandomLengthString(max));
        return text.back();
    };
    uwsgi_head_input head;
    head.method = take(16);
    head.target = take(4096);
    head.version = in.ConsumeBool() ? "HTTP/1.1" : "HTTP/1.0";
    head.remote_addr = take(64);
    head.remote_port = take(8);
    head.server_name = take(256);
    head.server_port = take(8);
    head.server_protocol_scheme = in.ConsumeBool() ? "https" : "http";
    if (in.ConsumeBool()) head.content_length = in.ConsumeIntegral<std::uint64_t>();
    const auto fields = in.ConsumeIntegralInRange<std::size_t>(0, 24);
    for (std::size_t i = 0; i < fields && in.remaining_bytes() > 0; ++i) {
        const auto name = take(32);
        head.headers.emplace_back(name, take(in.ConsumeBool() ? 70000 : 64));
    }

    const auto out = encode_uwsgi_request(head);
    if (!out.error.empty()) {
        FUZZ_PROPERTY(out.packet.empty());
        // More than the vars could take: the fixed vars, the target three times (REQUEST_URI,
        // PATH_INFO, QUERY_STRING), each header with its HTTP_ name and a join.
        std::size_t most = 400 + head.method.size() + 3 * head.target.size() +
                           head.remote_addr.size() + head.remote_port.size() +
                           head.server_name.size() + head.server_port.size();
        for (auto [name, value] : head.headers) most += 11 + 2 * name.size() + value.size();
        FUZZ_PROPERTY(most > uwsgi_max_vars_size);
        return 0;
    }
    const auto& p = out.packet;
    FUZZ_PROPERTY(p.size() >= 4 && p[0] == 0 && p[3] == 0);
    FUZZ_PROPERTY(le16(p, 1) == p.size() - 4);
    std::map<std::string, std::string> vars;
    for (std::size_t at = 4; at < p.size();) {
        FUZZ_PROPERTY(at + 2 <= p.size());
        const auto key_size = le16(p, at);
        FUZZ_PROPERTY(at + 2 + key_size + 2 <= p.size());
        std::string key = p.substr(at + 2, key_size);
        at += 2 + key_size;
        const auto value_size = le16(p, at);
        FUZZ_PROPERTY(at + 2 + value_size <= p.size());
        std::string value = p.substr(at + 2, value_size);
        at += 2 + value_size;
        FUZZ_PROPERTY(!key.empty());
        FUZZ_PROPERTY(vars.emplace(std::move(key), std::move(value)).second);
    }
    FUZZ_PROPERTY(vars.at("REQUEST_METHOD") == head.method);
    FUZZ_PROPERTY(vars.at("REQUEST_URI") == head.target);
    FUZZ_PROPERTY(vars.at("SERVER_PROTOCOL") == head.version);
    FUZZ_PROPERTY(vars.count("CONTENT_LENGTH") == (head.content_length ? 1u : 0u));
    FUZZ_PROPERTY(vars.count("HTTPS") == (head.server_protocol_scheme == "https" ? 1u : 0u));
    static const std::set<std::string> own = {"REQUEST_METHOD", "REQUEST_URI",     "PATH_INFO",
                                              "QUERY_STRING",   "SERVER_PROTOCOL", "CONTENT_LENGTH",
                                              "REMOTE_ADDR",    "REMOTE_PORT",     "SERVER_NAME",
                                              "SERVER_PORT",    "REQUEST_SCHEME",  "UWSGI_SCHEME",
                                              "HTTPS",          "SCRIPT_NAME"};
    for (const auto& [key, value] : vars) FUZZ_PROPERTY(own.count(key) == 1 || header_var(key));
    return 0;
}
