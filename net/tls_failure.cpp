#include "net/tls_failure.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace sluice::net {

std::string_view tls_failure_reason(const boost::system::error_code& ec, bool timed_out)
{
    if (timed_out) return "timeout";
    if (ec == boost::asio::error::eof || ec == boost::asio::ssl::error::stream_truncated ||
        ec == boost::asio::error::connection_reset || ec == boost::asio::error::broken_pipe)
        return "closed";
    if (ec.category() != boost::asio::error::get_ssl_category()) return "other";
    switch (ERR_GET_REASON(static_cast<unsigned long>(ec.value()))) {
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_VERSION_TOO_LOW:
    case SSL_R_WRONG_SSL_VERSION:
    case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION: return "protocol_version";
    case SSL_R_NO_SHARED_CIPHER:
    case SSL_R_NO_CIPHERS_AVAILABLE:
    case SSL_R_NO_SHARED_GROUPS:
    case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE: return "no_shared_cipher";
    case SSL_R_NO_APPLICATION_PROTOCOL:
    case SSL_R_TLSV1_ALERT_NO_APPLICATION_PROTOCOL: return "no_alpn";
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_HTTP_REQUEST:
    case SSL_R_HTTPS_PROXY_REQUEST:
    case SSL_R_PACKET_LENGTH_TOO_LONG:
    case SSL_R_RECORD_LENGTH_MISMATCH:
    case SSL_R_UNEXPECTED_MESSAGE:
    case SSL_R_UNEXPECTED_RECORD: return "not_tls";
    case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
    case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED: return "certificate_rejected";
    case SSL_R_CERTIFICATE_VERIFY_FAILED: return "certificate_verify_failed";
    case SSL_R_UNEXPECTED_EOF_WHILE_READING: return "closed";
    default: return "other";
    }
}

}  // namespace sluice::net
