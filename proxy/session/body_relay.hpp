#pragma once
// Streams one HTTP message's body from a parser on one socket to a serializer on another, in
// pieces of the worker's relay buffer: memory stays bounded whatever the body's size. The head
// goes out with the first piece, so a small message costs one write. Internal to the session.

#include "proxy/http/body_store.hpp"
#include "proxy/session/session.hpp"

#include "net/stream_ref.hpp"

namespace sluice::proxy {

struct relay_side {
    net::stream_ref stream;
    beast::flat_buffer* buffer;  // the reading side's buffer; unused when writing
    struct deadline& deadline;
    clock::duration timeout;  // per read or write: nothing moved for this long
    // Writing side only: with limits, what the socket does not take at once waits in a backlog
    // (memory, then a spool file) while reading goes on at the reader's pace, so a slow client
    // does not slow the server down. Past the limits' max_size the relay waits for the writer.
    const body_store::limits* backlog = nullptr;
    // Reading side only: where a spliced relay notes that this server sends large bodies slower
    // than a pipe-full per wait (splice_relay.cpp), so that later bodies on the same connection
    // are relayed as they come from the start. Null: nothing to note.
    bool* slow_sender = nullptr;
    // Writing side only: the connection closes after this message, so its end is written at once
    // rather than with the loop turn's batch, and the caller's FIN follows it (end_sending).
    bool last_on_connection = false;
};

// Called once when a relay is done with its reading side: `whole` at the body's last byte; not
// whole when the reader failed and the relay goes on delivering what it holds for the writer
// (forward.cpp then lets go of the server, slot and connection, before that drain).
using read_done_fn = std::function<void(bool whole)>;

struct relay_result {
    // store: a body_store refused bytes (too large, or its spool file failed); ec says which.
    enum class failure { none, read, write, store } failed = failure::none;
    error_code ec;
    bool timed_out = false;
    std::uint64_t bytes_read = 0, bytes_written = 0;
};

// Relays p's message: its head as `edits` changes it, then its body, framed in chunks when
// `chunked` (the body as it leaves, which the caller may have changed from how it came).
template <bool IsRequest>
awaitable<relay_result> relay_message(worker& w, relay_parser<IsRequest>& p,
                                      const head_edits& edits, bool chunked, relay_side from,
                                      relay_side to, read_done_fn on_read_done);

// The rest of a request body, de-chunked, written to `to` as plain bytes without any HTTP framing:
// for uwsgi, where the CONTENT_LENGTH bytes of the body follow the packet.
awaitable<relay_result> relay_body_bytes(worker& w, request_parser& p, relay_side from,
                                         relay_side to);

// Reads the rest of a request body, de-chunked, into `out`.
awaitable<relay_result> read_body(worker& w, request_parser& p, relay_side from, body_store& out);

// Writes `head` and then all of `body` to `to`.
awaitable<relay_result> write_stored(worker& w, std::string_view head, const body_store& body,
                                     relay_side to);

}  // namespace sluice::proxy
