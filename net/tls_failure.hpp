#pragma once
// Why a TLS handshake failed, as the `reason` label of sluice_tls_handshake_errors_total and the
// log: a short, stable name an operator can alert on, from OpenSSL's error.

#include <boost/system/error_code.hpp>

#include <string_view>

namespace sluice::net {

// One of: timeout, closed, protocol_version, no_shared_cipher, no_alpn, not_tls,
// certificate_rejected (by the client), certificate_verify_failed (ours of a server's), other.
// The TLS front adds plain_http_on_tls (plain HTTP to a TLS port), which OpenSSL never sees.
std::string_view tls_failure_reason(const boost::system::error_code& ec, bool timed_out);

}  // namespace sluice::net
