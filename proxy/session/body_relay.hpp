#pragma once
// Streams one HTTP message's body from a parser on one socket to a serializer on another, in
// pieces of the worker's relay buffer: memory stays bounded whatever the body's size. The head
// goes out with the first piece, so a small message costs one write. Internal to the session.

#include "proxy/session/session.hpp"

namespace sluice::proxy {

struct relay_side {
    socket_type& socket;
    beast::flat_buffer* buffer;  // the reading side's buffer; unused when writing
    struct deadline& deadline;
    clock::duration timeout;     // per read or write: nothing moved for this long
};

struct relay_result {
    enum class failure { none, read, write } failed = failure::none;
    error_code ec;
    bool timed_out = false;
    std::uint64_t bytes_read = 0, bytes_written = 0;
};

// Relays p's message: its head as `edits` changes it, then its body, framed in chunks when
// `chunked` (the body as it leaves, which the caller may have changed from how it came).
template <bool IsRequest>
awaitable<relay_result> relay_message(worker& w, relay_parser<IsRequest>& p,
                                      const head_edits& edits, bool chunked, relay_side from,
                                      relay_side to, std::function<void()> on_read_done);

// The rest of a request body, de-chunked, written to `to` as plain bytes without any HTTP framing:
// for uwsgi, where the CONTENT_LENGTH bytes of the body follow the packet.
awaitable<relay_result> relay_body_bytes(worker& w, request_parser& p, relay_side from,
                                               relay_side to);

// Reads the rest of a request body, de-chunked, into `out`. Past `limit` bytes it stops with
// failure::read and http::error::buffer_overflow.
awaitable<relay_result> read_body(worker& w, request_parser& p, relay_side from,
                                        std::string& out, std::size_t limit);

}  // namespace sluice::proxy
