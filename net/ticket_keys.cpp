#include "net/ticket_keys.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace sluice::net {

namespace {

constexpr std::size_t kept = 3;

int ex_index()
{
    static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

bool use_key(const ticket_keys::key& k, const unsigned char* iv, EVP_CIPHER_CTX* cipher,
             EVP_MAC_CTX* mac, int enc)
{
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY,
                                          const_cast<unsigned char*>(k.hmac.data()), k.hmac.size()),
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>("SHA256"), 0),
        OSSL_PARAM_construct_end()};
    if (EVP_MAC_CTX_set_params(mac, params) != 1) return false;
    return EVP_CipherInit_ex(cipher, EVP_aes_256_cbc(), nullptr, k.aes.data(), iv, enc) == 1;
}

// OpenSSL's ticket callback: 1 = done, 2 = accepted but renew the ticket, 0 = unknown key (a
// full handshake), -1 = failure.
int on_ticket(SSL* ssl, unsigned char* name, unsigned char* iv, EVP_CIPHER_CTX* cipher,
              EVP_MAC_CTX* mac, int enc)
{
    auto* keys = static_cast<ticket_keys*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ex_index()));
    if (!keys) return -1;
    if (enc == 1) {
        ticket_keys::key k;
        try {
            k = keys->current(std::chrono::steady_clock::now());
        } catch (const std::exception&) {
            return -1;  // no new key (the random generator failed): no ticket, never a throw
        }
        if (RAND_bytes(iv, EVP_MAX_IV_LENGTH) != 1) return -1;
        std::memcpy(name, k.name.data(), k.name.size());
        return use_key(k, iv, cipher, mac, 1) ? 1 : -1;
    }
    ticket_keys::key k;
    bool newest = false;
    if (!keys->find(name, k, newest)) return 0;
    if (!use_key(k, iv, cipher, mac, 0)) return -1;
    // A TLS 1.3 client uses a ticket once (RFC 8446, C.4): without a new one after each
    // resumption it makes a full handshake every other connection.
    return newest && SSL_version(ssl) != TLS1_3_VERSION ? 1 : 2;
}

ticket_keys::key make_key(std::chrono::steady_clock::time_point now)
{
    ticket_keys::key k;
    if (RAND_bytes(k.name.data(), k.name.size()) != 1 ||
        RAND_bytes(k.aes.data(), k.aes.size()) != 1 ||
        RAND_bytes(k.hmac.data(), k.hmac.size()) != 1)
        throw std::runtime_error("TLS: the random generator gave no session ticket key");
    k.made = now;
    return k;
}

}  // namespace

ticket_keys::ticket_keys(std::chrono::seconds rotation) : rotation_(rotation)
{
    keys_.push_front(make_key(std::chrono::steady_clock::now()));
}

void ticket_keys::install(ssl_ctx_st* ctx)
{
    SSL_CTX_set_ex_data(ctx, ex_index(), this);
    SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, on_ticket);
}

ticket_keys::key ticket_keys::current(std::chrono::steady_clock::time_point now)
{
    std::lock_guard lock(mutex_);
    if (now - keys_.front().made >= rotation_) {
        keys_.push_front(make_key(now));
        if (keys_.size() > kept) keys_.pop_back();
    }
    return keys_.front();
}

bool ticket_keys::find(const unsigned char* name, key& out, bool& newest)
{
    std::lock_guard lock(mutex_);
    const auto it = std::find_if(keys_.begin(), keys_.end(), [&](const key& k) {
        return std::memcmp(k.name.data(), name, k.name.size()) == 0;
    });
    if (it == keys_.end()) return false;
    out = *it;
    newest = it == keys_.begin();
    return true;
}

}  // namespace sluice::net
