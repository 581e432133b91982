// The pure parts of TLS: which certificate serves an SNI name, how session ticket keys rotate,
// and the reason label a failed handshake gets.

#include "net/ticket_keys.hpp"
#include "net/tls_failure.hpp"
#include "net/tls_server_context.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>

#include <gtest/gtest.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace sluice::net {
namespace {

TEST(tls_names, exact_names_and_one_label_wildcards_serve_a_host)
{
    const std::vector<std::string> names{"example.com", "*.example.org"};
    EXPECT_TRUE(serves_name(names, "example.com"));
    EXPECT_TRUE(serves_name(names, "EXAMPLE.com"));
    EXPECT_TRUE(serves_name(names, "www.example.org"));
    EXPECT_FALSE(serves_name(names, "example.org"));      // the wildcard needs a label
    EXPECT_FALSE(serves_name(names, "a.b.example.org"));  // and stands for one only
    EXPECT_FALSE(serves_name(names, "www.example.com"));
    EXPECT_FALSE(serves_name(names, ".example.org"));
    EXPECT_FALSE(serves_name(names, ""));
    EXPECT_FALSE(serves_name({"*."}, "a."));
}

TEST(ticket_keys, the_newest_key_rotates_and_two_older_ones_still_open_tickets)
{
    using namespace std::chrono;
    ticket_keys keys(hours(1));
    const auto t0 = steady_clock::now();
    const auto first = keys.current(t0);
    EXPECT_EQ(keys.current(t0 + minutes(59)).name, first.name);
    const auto second = keys.current(t0 + minutes(61));
    EXPECT_NE(second.name, first.name);

    ticket_keys::key found;
    bool newest = false;
    ASSERT_TRUE(keys.find(first.name.data(), found, newest));
    EXPECT_FALSE(newest);  // accepted, and the ticket renewed under the new key
    EXPECT_EQ(found.aes, first.aes);
    ASSERT_TRUE(keys.find(second.name.data(), found, newest));
    EXPECT_TRUE(newest);

    keys.current(t0 + minutes(122));
    keys.current(t0 + minutes(183));  // first is now the fourth key: gone
    EXPECT_FALSE(keys.find(first.name.data(), found, newest));
    EXPECT_TRUE(keys.find(second.name.data(), found, newest));
}

boost::system::error_code openssl_reason(int reason)
{
    return {static_cast<int>(ERR_PACK(ERR_LIB_SSL, 0, reason)),
            boost::asio::error::get_ssl_category()};
}

TEST(tls_failure, handshake_errors_get_stable_reason_labels)
{
    EXPECT_EQ(tls_failure_reason({}, true), "timeout");
    EXPECT_EQ(tls_failure_reason(boost::asio::error::eof, false), "closed");
    EXPECT_EQ(tls_failure_reason(boost::asio::ssl::error::stream_truncated, false), "closed");
    EXPECT_EQ(tls_failure_reason(openssl_reason(SSL_R_UNSUPPORTED_PROTOCOL), false),
              "protocol_version");
    EXPECT_EQ(tls_failure_reason(openssl_reason(SSL_R_NO_SHARED_CIPHER), false),
              "no_shared_cipher");
    EXPECT_EQ(tls_failure_reason(openssl_reason(SSL_R_WRONG_VERSION_NUMBER), false), "not_tls");
    EXPECT_EQ(tls_failure_reason(openssl_reason(SSL_R_NO_APPLICATION_PROTOCOL), false), "no_alpn");
    EXPECT_EQ(tls_failure_reason(openssl_reason(SSL_R_TLSV1_ALERT_UNKNOWN_CA), false),
              "certificate_rejected");
    EXPECT_EQ(tls_failure_reason(openssl_reason(SSL_R_BAD_SIGNATURE), false), "other");
    EXPECT_EQ(tls_failure_reason(boost::asio::error::host_unreachable, false), "other");
}

}  // namespace
}  // namespace sluice::net
