#pragma once
// Where an established TLS connection's ciphertext goes between the socket and OpenSSL: two
// buffers behind a BIO of our own, which the relay fills from the socket and empties into it.
// Asio's TLS stream (used for the handshake) puts a BIO pair there and clears OpenSSL's error
// queue around every call; after the handshake a request then costs one SSL_read into a buffer
// already filled by one recv, and one SSL_write whose records leave with one send.
//
// OpenSSL reads only what is in the input buffer (an empty one reads as "retry": the relay waits
// for the socket and reads into input_space), and its writes always succeed (the relay sends
// `output` after each call). The SSL holds the BIO, which points here: this object must outlive
// the SSL.

#include <boost/asio/buffer.hpp>

#include <cstddef>
#include <string>
#include <vector>

struct ssl_st;

namespace sluice::net {

class tls_buffers {
public:
    // Gives `ssl` this BIO in place of the one it has, taking along the bytes that one holds
    // and OpenSSL has not read (a request sent right behind the handshake). False when OpenSSL
    // could not make a BIO.
    bool attach(ssl_st* ssl);

    // Room at the end of the input, for a read from the socket; then commit what was read.
    boost::asio::mutable_buffer input_space();
    void commit_input(std::size_t n);

    // Gives back the memory of empty buffers while the connection waits for its next request;
    // the input is allocated again by the next input_space().
    void release_idle();

    // The records OpenSSL wrote and the relay has not sent yet.
    std::string& output() { return out_; }
    const std::string& output() const { return out_; }
    // Received bytes OpenSSL has not read yet.
    bool holds_input() const { return end_ > begin_; }

private:
    friend struct bio_calls;
    std::vector<char> in_;
    std::size_t begin_ = 0, end_ = 0;  // in_[begin_, end_) is for OpenSSL
    std::string out_;
};

// Encrypts all of [data, data + n) into the output of the buffers `ssl` is attached to; false
// (OpenSSL's error queue cleared) when OpenSSL refuses.
bool encrypt(ssl_st* ssl, const void* data, std::size_t n);

}  // namespace sluice::net
