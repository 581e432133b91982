// The request head read: bytes from a client, arriving in pieces, through check_request_head
// exactly as read_head feeds it (client_session.cpp). Beyond "no crash":
// * a verdict takes no more bytes than it was given, and a refusal is 400, 413 or 431;
// * only a head without its blank line yet waits for more bytes: a whole one gets its verdict
//   at once, not a 408 after client_header;
// * an accepted head, written as the proxy writes heads (write_head), is accepted again with
//   the same method, target, version and fields in the same order (less the hop-by-hop ones,
//   which write_head leaves out).

#include "proxy/http/message_head.hpp"
#include "proxy/http/request_head_check.hpp"
#include "tests/fuzz/property.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

using namespace sluice::proxy;

namespace {

// Feeds `data` to a fresh parser in pieces of `step` bytes (all at once for 0), as the socket
// loop would, until a verdict other than need_more or the end of the bytes.
head_check read(request_parser& p, std::string_view data, std::size_t step,
                const sluice::config::limits& limits)
{
    std::size_t start = 0, arrived = 0;
    for (;;) {
        arrived = step == 0 ? data.size() : std::min(data.size(), arrived + step);
        const auto buffered = data.substr(start, arrived - start);
        auto c = check_request_head(p, buffered, limits);
        FUZZ_PROPERTY(c.consumed <= buffered.size());
        start += c.consumed;
        if (c.result != head_check::verdict::need_more) return c;
        FUZZ_PROPERTY(buffered.find("\r\n\r\n") == std::string_view::npos);
        if (arrived == data.size()) return c;
    }
}

// The fields write_head keeps (hop-by-hop ones stay behind), in order, with their values.
void same_head(const request_head& a, const head_edits& edits, const request_head& b)
{
    FUZZ_PROPERTY(a.method_string() == b.method_string());
    FUZZ_PROPERTY(a.target() == b.target());
    FUZZ_PROPERTY(a.version() == b.version());
    auto j = b.begin();
    for (const auto& field : a) {
        if (edits.leaves_out(field)) continue;
        FUZZ_PROPERTY(j != b.end());
        FUZZ_PROPERTY(j->name_string() == field.name_string() && j->value() == field.value());
        ++j;
    }
    FUZZ_PROPERTY(j == b.end());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size)
{
    if (size < 1) return 0;
    // The first byte: how the bytes arrive and whether the limits are small enough to reach.
    const unsigned control = bytes[0];
    const std::string_view data(reinterpret_cast<const char*>(bytes) + 1, size - 1);
    sluice::config::limits limits;
    if (control & 0x80) {
        limits.max_header = 64 + (control & 0x0f) * 16;
        limits.max_body = (control >> 4) & 0x07;
    }
    const std::size_t step = control & 0x80 ? 0 : control & 0x7f;

    request_parser p;
    limit_request_parser(p, limits);
    const auto c = read(p, data, step, limits);
    if (c.result == head_check::verdict::refused) {
        const auto status = static_cast<unsigned>(c.status);
        FUZZ_PROPERTY(status == 400 || status == 413 || status == 431);
        FUZZ_PROPERTY(!c.reason.empty() && (!c.message.empty() || c.parse_error));
        return 0;
    }
    if (c.result != head_check::verdict::accepted) return 0;
    FUZZ_PROPERTY(p.is_header_done());

    std::string out;
    const head_edits edits;
    write_head(p.get(), edits, out);
    auto again_limits = limits;
    again_limits.max_header = out.size();  // a written head may be longer: "a:b" -> "a: b"
    request_parser again;
    limit_request_parser(again, again_limits);
    const auto d = check_request_head(again, out, again_limits);
    FUZZ_PROPERTY(d.result == head_check::verdict::accepted);
    FUZZ_PROPERTY(d.consumed == out.size());
    same_head(p.get(), edits, again.get());
    return 0;
}
