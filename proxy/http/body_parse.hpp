#pragma once
// Body bytes from bytes already read: Beast's parser takes off the framing (chunk sizes,
// extensions, trailers) and counts against the body limit; this drives it over a buffer without
// I/O, for the relay (body_relay.cpp) and for a fuzzer (tests/fuzz/chunked_body). A template in
// a header so that the relay's call stays inline.

#include "proxy/http/message_parsers.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/system/error_code.hpp>

#include <cstddef>

namespace sluice::proxy {

struct body_parse {
    std::size_t produced = 0;      // body bytes written to the output
    std::size_t consumed = 0;      // bytes taken from the input (and dropped from it)
    boost::system::error_code ec;  // a parse error or the body limit; never need_more
};

// Parses the body bytes in `in` into [data, data + size) until `in` runs out (or holds only part
// of a chunk header), the output is full or the message is done.
template <bool IsRequest>
body_parse parse_body(relay_parser<IsRequest>& p, boost::beast::flat_buffer& in, char* data,
                      std::size_t size)
{
    body_parse r;
    auto& body = p.get().body();
    body.data = data;
    body.size = size;
    while (in.size() > 0 && !p.is_done() && body.size > 0) {
        boost::system::error_code ec;
        const auto used = p.put(in.data(), ec);
        in.consume(used);
        r.consumed += used;
        if (ec == http::error::need_more || (!ec && used == 0)) break;
        if (ec && ec != http::error::need_buffer) {
            r.ec = ec;
            break;
        }
    }
    r.produced = size - body.size;
    return r;
}

}  // namespace sluice::proxy
