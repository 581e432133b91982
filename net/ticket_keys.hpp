#pragma once
// Session ticket keys for one TLS listener, shared by all its certificates' contexts and kept
// across reloads: tickets are encrypted with the newest key, which is replaced every hour, and
// still accepted under the two keys before it, so a stolen key opens only a few hours of
// sessions and a returning client skips the full handshake.

#include <array>
#include <chrono>
#include <deque>
#include <mutex>

struct ssl_ctx_st;

namespace sluice::net {

class ticket_keys {
public:
    explicit ticket_keys(std::chrono::seconds rotation = std::chrono::hours(1));

    // Makes `ctx` issue and accept tickets under these keys (which must outlive it).
    void install(ssl_ctx_st* ctx);

    struct key {
        std::array<unsigned char, 16> name;
        std::array<unsigned char, 32> aes, hmac;
        std::chrono::steady_clock::time_point made;
    };
    // The key to encrypt a new ticket with, rotated when due.
    key current(std::chrono::steady_clock::time_point now);
    // The key named `name`, if still kept; `newest` says whether it is the current one (else
    // the ticket is renewed under it).
    bool find(const unsigned char* name, key& out, bool& newest);

private:
    std::chrono::seconds rotation_;
    std::mutex mutex_;      // handshakes run on every worker thread
    std::deque<key> keys_;  // newest first
};

}  // namespace sluice::net
