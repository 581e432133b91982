#pragma once
// TLS to one backend server (`servers[].tls`): the certificate is verified against `ca` (the
// system store by default) and the name `sni` (the server's host by default) unless
// `verify: false`; the last session is kept so that new connections resume instead of doing a
// full handshake. Shared by every worker thread. OpenSSL stays out of this header.

#include "config/model.hpp"

#include <memory>
#include <string>

struct ssl_st;

namespace sluice::net {

class tls_client_context {
public:
    // Throws std::runtime_error naming the server and the CA file when it cannot be used.
    tls_client_context(const config::backend& b, const config::server& s);
    ~tls_client_context();
    tls_client_context(const tls_client_context&) = delete;
    tls_client_context& operator=(const tls_client_context&) = delete;

    // A client session for one new connection, its SNI and expected name set, resuming the
    // last session when there is one. The caller owns it (SSL_free); null when out of memory.
    ssl_st* new_session() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

// Why a handshake with a server failed, as the access log's reason: tls_certificate_expired,
// tls_wrong_name, tls_unknown_ca, tls_verify_failed or tls_handshake_failed; `detail` gets
// OpenSSL's words for it.
std::string_view server_tls_failure(const ssl_st* ssl, std::string& detail);

}  // namespace sluice::net
