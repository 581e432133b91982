#pragma once
// What a TLS listener offers in its handshakes: one OpenSSL context per certificate, picked by
// SNI (exact name, then `*.wildcard`; the first certificate otherwise), with the listener's
// minimum version, ciphers and ALPN, a server-side session cache and session tickets whose keys
// rotate. Built at start-up and at each reload (new handshakes use the new one; a connection
// keeps the context it started with). OpenSSL stays out of this header.

#include "config/model.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

struct ssl_st;

namespace sluice::net {

class ticket_keys;

class tls_server_context {
public:
    // Throws std::runtime_error naming the listener, the file and what is wrong with it. Keeps
    // `previous_keys` (the same listener's before a reload) so tickets issued before it still
    // resume.
    tls_server_context(const config::listener& l, std::shared_ptr<ticket_keys> previous_keys);
    ~tls_server_context();
    tls_server_context(const tls_server_context&) = delete;
    tls_server_context& operator=(const tls_server_context&) = delete;

    // A new server-side session for one connection; the caller owns it (SSL_free).
    ssl_st* new_session() const;

    struct certificate {
        std::string file;
        std::vector<std::string> names;  // DNS names, else the subject's common name
        std::chrono::system_clock::time_point not_after;
    };
    const std::vector<certificate>& certificates() const;
    const std::shared_ptr<ticket_keys>& keys() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

// Whether a certificate for `names` serves `host` (the client's SNI): an exact name, or a
// `*.` wildcard standing for one leftmost label. Case-insensitive.
bool serves_name(const std::vector<std::string>& names, std::string_view host);

}  // namespace sluice::net
