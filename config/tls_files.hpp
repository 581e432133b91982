#pragma once
// What the config's TLS settings mean to OpenSSL, checked at load so that `sluice check`, `run`
// and a SIGHUP reload refuse the same unusable files: a listener's certificate and key, a
// server's CA file, a cipher string. Reads files (with OpenSSL, never on an event loop) but keeps
// no state and opens no socket; the proxy builds its SSL_CTX from the same files and from
// tls12_cipher_list() below.
//
// `ciphers` (SPEC.md "TLS and the PROXY protocol"):
//   intermediate  Mozilla's intermediate profile: TLS 1.2 with the ECDHE/DHE AEAD suites below,
//                 and TLS 1.3 with OpenSSL's default suites. The default.
//   modern        TLS 1.3 only, whatever min_version says (modern raises the floor; "1.2" with
//                 it is accepted, not an error), with OpenSSL's default TLS 1.3 suites: Mozilla's
//                 modern profile.
//   anything else an OpenSSL cipher string for TLS 1.2 (`openssl ciphers -v STRING` lists what
//                 it selects); TLS 1.3's suites stay OpenSSL's defaults.
// With min_version "1.3" no TLS 1.2 list is used at all. The intermediate list has DHE suites:
// they need DH parameters, which SSL_CTX_set_dh_auto(ctx, 1) gives (OpenSSL's built-in groups).

#include "config/model.hpp"

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

struct x509_st;

namespace sluice::config {

using system_time = std::chrono::system_clock::time_point;

// Mozilla's intermediate profile for TLS 1.2 (ssl-config.mozilla.org), in its order.
inline constexpr std::string_view intermediate_tls12_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";

// A certificate that expires sooner than this earns a `sluice check` warning.
inline constexpr auto expiry_warning = std::chrono::days(14);

// The OpenSSL cipher list (SSL_CTX_set_cipher_list) for the listener's TLS 1.2 handshakes:
// intermediate_tls12_ciphers, the operator's string as written, or "" for `modern`, which offers
// no TLS 1.2 at all (do not call SSL_CTX_set_cipher_list with "": OpenSSL refuses an empty list).
std::string_view tls12_cipher_list(const listener_tls& tls);

// min_version, raised to 1.3 by `ciphers: modern`: what SSL_CTX_set_min_proto_version gets.
tls_version effective_min_version(const listener_tls& tls);

// "1.2" or "1.3", as the config spells it.
std::string_view version_name(tls_version v);

struct certificate_facts {
    std::vector<std::string> names;  // subjectAltName DNS names; else the subject's CN, if any
    system_time not_before{};
    system_time not_after{};
};

struct certificate_report {
    // "" when the pair is usable; else what is wrong, naming the file, and how to fix it.
    std::string error;
    // The key whose file is at fault: "cert", or "key" (a key that cannot be read or does not
    // match points at the key).
    std::string_view key = "cert";
    certificate_facts facts;  // filled whenever the certificate could be read
};

// The names and dates of a certificate already read (the proxy's, from its SSL_CTX).
certificate_facts facts_of(const x509_st* cert);

// Reads the first certificate in c.cert (the leaf; a chain may follow it) and the private key in
// c.key. Errors: a file missing or unreadable (with the system's reason), not PEM or without a
// certificate / key, a key protected by a passphrase (sluice cannot ask for one), a key that does
// not match the certificate, a certificate expired at `now`. Leaves OpenSSL's error queue empty.
certificate_report inspect_certificate(const tls_certificate& c, system_time now);

// "" when `path` can be read and holds at least one PEM certificate; else what is wrong.
std::string ca_file_problem(const std::string& path);

// "" when `ciphers` is intermediate, modern, or a string OpenSSL accepts for TLS 1.2.
std::string cipher_problem(const std::string& ciphers);

// "2027-03-01 12:00 UTC"
std::string format_utc(system_time t);

// Whole days from `now` to `t`, rounded down ("in 13 days" for 13 days 23 hours).
long days_between(system_time now, system_time t);

}  // namespace sluice::config
