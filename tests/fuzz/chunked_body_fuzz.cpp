// Chunked body decoding with the proxy's parsers and settings: a request head accepted by
// check_request_head or a response head read by put_response_head, then the body bytes through
// parse_body as the relay drives it (body_relay.cpp), arriving in pieces and taken out through an
// output of a chosen size. Beyond "no crash":
// * the decoder never yields more body bytes than it was given, nor takes more than it has;
// * a request body never passes limits.max_body;
// * the outcome does not depend on how the bytes arrive or how large the output is: the same
//   bytes all at once into one large output give the same body, or the same error.

#include "proxy/http/body_parse.hpp"
#include "proxy/http/request_head_check.hpp"
#include "proxy/http/response_head_read.hpp"
#include "tests/fuzz/property.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <type_traits>

using namespace sluice::proxy;

namespace {

constexpr std::string_view request_bytes =
    "POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
constexpr std::string_view response_bytes = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";

struct outcome {
    std::string body;
    boost::system::error_code ec;
    bool done = false;
};

template <bool IsRequest>
outcome decode(relay_parser<IsRequest>& p, std::string_view data, std::size_t step,
               std::size_t piece)
{
    outcome o;
    boost::beast::flat_buffer in;
    std::string out(piece, '\0');
    std::size_t fed = 0, consumed = 0;
    while (!p.is_done()) {
        if (const auto n = std::min(step, data.size() - fed); n > 0) {
            boost::asio::buffer_copy(in.prepare(n), boost::asio::buffer(data.data() + fed, n));
            in.commit(n);
            fed += n;
        }
        const auto before = in.size();
        const auto r = parse_body(p, in, out.data(), out.size());
        FUZZ_PROPERTY(r.consumed == before - in.size());
        FUZZ_PROPERTY(r.produced <= out.size());
        consumed += r.consumed;
        o.body.append(out.data(), r.produced);
        FUZZ_PROPERTY(o.body.size() <= consumed && consumed <= fed);
        if (r.ec) {
            o.ec = r.ec;
            return o;
        }
        if (r.produced == 0 && r.consumed == 0 && fed == data.size())
            break;  // waits for bytes that will not come
    }
    o.done = p.is_done();
    return o;
}

template <bool IsRequest>
void run(std::string_view data, std::size_t step, std::size_t piece, std::uint64_t max_body,
         auto&& start)
{
    std::conditional_t<IsRequest, request_parser, response_parser> a, b;
    if (!start(a) || !start(b)) return;
    const auto split = decode(a, data, step, piece);
    const auto whole = decode(b, data, data.size() + 1, data.size() + 1);
    if (IsRequest && !split.ec) FUZZ_PROPERTY(split.body.size() <= max_body);
    FUZZ_PROPERTY(split.done == whole.done);
    FUZZ_PROPERTY(split.ec == whole.ec);
    if (split.done) FUZZ_PROPERTY(split.body == whole.body);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size)
{
    if (size < 3) return 0;
    // Three control bytes: request or response and the body limit; arrival step; output size.
    const unsigned control = bytes[0];
    const std::size_t step = 1 + bytes[1];
    const std::size_t piece = 1 + bytes[2];
    const std::string_view data(reinterpret_cast<const char*>(bytes) + 3, size - 3);
    if (control & 1) {
        run<false>(data, step, piece, 0, [](response_parser& p) {
            prepare_response_parser(p, false);
            boost::beast::flat_buffer in;
            boost::asio::buffer_copy(in.prepare(response_bytes.size()),
                                     boost::asio::buffer(response_bytes));
            in.commit(response_bytes.size());
            return !put_response_head(p, in) && in.size() == 0;
        });
        return 0;
    }
    sluice::config::limits limits;
    if (control & 2) limits.max_body = control >> 2;
    run<true>(data, step, piece, limits.max_body, [&limits](request_parser& p) {
        limit_request_parser(p, limits);
        const auto c = check_request_head(p, request_bytes, limits);
        return c.result == head_check::verdict::accepted && c.consumed == request_bytes.size();
    });
    return 0;
}
