// A server's response head as the proxy reads it (upstream_attempt.cpp): a parser set up by
// prepare_response_parser, fed by put_response_head as bytes arrive, a fresh parser after each
// 1xx. Beyond "no crash": a whole head gets a verdict without waiting for more bytes; a head
// the proxy accepts, prepared for the client
// (prepare_client_response) and written (write_head), parses again as one whole head with the
// same status and the same fields, less those the proxy leaves out; so a server cannot make the
// proxy send a client something it would read differently (response splitting).

#include "proxy/http/hop_by_hop.hpp"
#include "proxy/http/message_head.hpp"
#include "proxy/http/response_head_read.hpp"
#include "tests/fuzz/property.hpp"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

using namespace sluice::proxy;

namespace {

// Reads one head from `data` at `pos` in pieces of `step` bytes; the error or none.
boost::system::error_code read(response_parser& p, std::string_view data, std::size_t& pos,
                               std::size_t step)
{
    boost::beast::flat_buffer in;
    for (;;) {
        const auto n = std::min(step, data.size() - pos);
        if (n == 0) return boost::beast::http::error::partial_message;
        boost::asio::buffer_copy(in.prepare(n), boost::asio::buffer(data.data() + pos, n));
        in.commit(n);
        pos += n;
        const auto ec = put_response_head(p, in);
        const std::string_view left(static_cast<const char*>(in.data().data()), in.size());
        // A whole head gets its answer now, not a server timeout later.
        FUZZ_PROPERTY(ec != boost::beast::http::error::need_more ||
                      left.find("\r\n\r\n") == std::string_view::npos);
        if (ec != boost::beast::http::error::need_more) {
            pos -= in.size();  // what follows the head stays for the body or the next head
            return ec;
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size)
{
    if (size < 2) return 0;
    // Two control bytes: the request's method and the client's side; the arrival step.
    const unsigned control = bytes[0];
    const bool head_request = control & 1;
    const unsigned client_version = control & 2 ? 11 : 10;
    const bool keep_alive = control & 4;
    const bool upgrade = control & 8;
    const std::size_t step = 1 + bytes[1];
    const std::string_view data(reinterpret_cast<const char*>(bytes) + 2, size - 2);

    std::optional<response_parser> p;
    std::size_t pos = 0;
    for (int heads = 0; heads < 8; ++heads) {
        p.emplace();
        prepare_response_parser(*p, head_request);
        if (read(*p, data, pos, step)) return 0;
        const auto status = p->get().result_int();
        if (status < 100 || status >= 200 || status == 101) break;
    }
    auto& res = p->get();
    const auto status = res.result_int();

    head_edits edits;
    prepare_client_response(res.base(), client_version, keep_alive, upgrade, p->chunked(), edits);
    std::string out;
    write_head(res.base(), edits, out);

    response_parser again;
    prepare_response_parser(again, head_request);
    boost::beast::flat_buffer in;
    boost::asio::buffer_copy(in.prepare(out.size()), boost::asio::buffer(out));
    in.commit(out.size());
    FUZZ_PROPERTY(!put_response_head(again, in));
    FUZZ_PROPERTY(in.size() == 0);
    FUZZ_PROPERTY(again.get().result_int() == status);
    // Every field the proxy kept is there, in order, with its value.
    auto j = again.get().begin();
    for (const auto& field : res) {
        if (edits.leaves_out(field)) continue;
        FUZZ_PROPERTY(j != again.get().end());
        FUZZ_PROPERTY(j->name_string() == field.name_string() && j->value() == field.value());
        ++j;
    }
    return 0;
}
