// The PROXY protocol header parser (net/proxy_protocol), as a listener runs it on a connection's
// first bytes: the first byte picks the versions allowed, the rest is what arrived. Beyond "no
// crash":
// * an accepted header takes no more bytes than arrived, and no more than the longest allowed;
// * the verdict does not change when more bytes arrive after an accepted or refused header;
// * while the parser waits, every shorter prefix of those bytes waits too (nothing valid can
//   start where something invalid did);
// * a version-restricted listener accepts only what an `any` listener accepts, identically.

#include "net/proxy_protocol.hpp"
#include "tests/fuzz/property.hpp"

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

using namespace sluice::net;

namespace {

bool same(const proxy_parse& a, const proxy_parse& b)
{
    if (a.result != b.result || a.consumed != b.consumed || a.header.local != b.header.local)
        return false;
    return a.header.local || (a.header.source.text() == b.header.source.text() &&
                              a.header.source.port == b.header.source.port &&
                              a.header.destination.text() == b.header.destination.text() &&
                              a.header.destination.port == b.header.destination.port);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size)
{
    if (size < 1) return 0;
    const auto allowed = static_cast<proxy_versions>(bytes[0] % 3);
    const std::string_view data(reinterpret_cast<const char*>(bytes) + 1, size - 1);
    const auto p = parse_proxy_header(data, allowed);
    using verdict = proxy_parse::verdict;
    if (p.result == verdict::accepted) {
        FUZZ_PROPERTY(p.consumed > 0 && p.consumed <= data.size());
        FUZZ_PROPERTY(p.consumed <= std::max(max_v1_header, max_v2_header));
        FUZZ_PROPERTY(p.header.local || !p.header.source.text().empty());
        FUZZ_PROPERTY(same(p, parse_proxy_header(data, proxy_versions::any)));
    }
    if (p.result == verdict::refused) FUZZ_PROPERTY(!p.problem.empty());
    const std::string more = std::string(data) + "\r\nGET / HTTP/1.1\r\n";
    if (p.result != verdict::need_more)
        FUZZ_PROPERTY(same(p, parse_proxy_header(more, allowed)));
    else
        FUZZ_PROPERTY(parse_proxy_header(data.substr(0, data.size() / 2), allowed).result ==
                      verdict::need_more);
    return 0;
}
