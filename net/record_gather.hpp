#pragma once
// The pieces of one write sealed into as few TLS records as the data allows. A relayed piece
// of a chunked response is four small buffers (the head, a chunk's size line, its data, its
// CRLF); sealed one by one they would be four records, each costing the peer a decryption and
// 22 bytes. Buffers smaller than a record are copied together (into a buffer of the thread's,
// as a write is never suspended halfway) and sealed as one; a large buffer with nothing before
// it is sealed in place, without a copy.

#include <cstddef>

struct ssl_st;

namespace sluice::net {

class record_gather {
public:
    explicit record_gather(ssl_st* ssl) : ssl_(ssl) {}
    record_gather(const record_gather&) = delete;
    record_gather& operator=(const record_gather&) = delete;

    // False once OpenSSL has refused (then the rest is not taken).
    bool add(const void* data, std::size_t n);
    // Seals what is gathered; false if OpenSSL refused this or an earlier piece.
    bool finish();

private:
    bool seal();

    ssl_st* ssl_;
    std::size_t gathered_ = 0;
    bool failed_ = false;
};

}  // namespace sluice::net
