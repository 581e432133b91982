#pragma once
// The parsers the proxy reads relayed messages with: the body streams through a buffer_body
// (never held whole), the head lives on the request's arena (message_types.hpp).

#include "proxy/http/message_types.hpp"

#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>

#include <cstdint>
#include <limits>
#include <string_view>
#include <utility>

namespace sluice::proxy {

template <bool IsRequest>
using relay_parser = http::parser<IsRequest, http::buffer_body, header_allocator>;
using response_parser = relay_parser<false>;

// Whether the `buffered` bytes after a parsed head are exactly the rest of its message, so no
// read of this message is to come (net/read_readiness.hpp's "end of a message").
template <bool IsRequest>
bool holds_the_rest(const relay_parser<IsRequest>& p, std::size_t buffered)
{
    if (p.is_done()) return buffered == 0;
    const auto left = p.content_length_remaining();
    return left && !p.chunked() && buffered == *left;
}

// Whether more of a message whose head has parsed is still to arrive beyond the `buffered` bytes
// after it. A chunked body counts as all there when they end as its last chunk does (trailers
// aside): a guess, good enough for what it decides (an ACK at once, client_session.cpp).
template <bool IsRequest>
bool body_to_come(const relay_parser<IsRequest>& p, std::string_view buffered)
{
    if (p.is_done()) return false;
    if (p.chunked()) return !(buffered == "0\r\n\r\n" || buffered.ends_with("\r\n0\r\n\r\n"));
    const auto left = p.content_length_remaining();
    return !left || buffered.size() < *left;
}

// A client's request parser, which counts a chunked body against the body limit itself, once
// per chunk and only after the chunk's header has parsed whole. Beast 1.81's own limit charges a
// chunk's size before it parses the chunk's extensions, and again each time an extension is not
// all there yet: the same malformed chunk then got 413 or 400 depending on how its bytes arrived
// (found by tests/fuzz/chunked_body). Beast's limit stays off; check_request_head applies the
// limit to a Content-Length.
class request_parser : public relay_parser<true> {
public:
    // Takes what Beast's parser takes (the head's allocator, as client_session gives it).
    template <class... Args>
    explicit request_parser(Args&&... args) : relay_parser<true>(std::forward<Args>(args)...)
    {
        body_limit(boost::none);
        on_chunk_header(budget_);
    }
    request_parser(const request_parser&) = delete;
    request_parser& operator=(const request_parser&) = delete;

    void chunked_body_limit(std::uint64_t max) { budget_.left = max; }

private:
    struct chunk_budget {
        std::uint64_t left = std::numeric_limits<std::uint64_t>::max();
        void operator()(std::uint64_t size, boost::beast::string_view,
                        boost::system::error_code& ec)
        {
            if (size > left)
                ec = http::error::body_limit;
            else
                left -= size;
        }
    };
    chunk_budget budget_;
};

}  // namespace sluice::proxy
