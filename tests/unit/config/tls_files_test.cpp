#include "config/tls_files.hpp"

#include "support/test_certificates.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>

namespace sluice::config {
namespace {

using namespace std::chrono;
using test::certificate_spec;

class tls_files : public ::testing::Test {
protected:
    test::scratch_dir dir{"sluice-tls-files"};
    const system_time now = system_clock::now();

    std::string file(const std::string& name, const std::string& text = "")
    {
        const auto path = (dir.path() / name).string();
        if (!text.empty()) std::ofstream(path) << text;
        return path;
    }
    certificate_report inspect(const std::string& cert, const std::string& key)
    {
        return inspect_certificate({cert, key, {}}, now);
    }
};

std::string unreadable(const std::string& path)
{
    return "\"" + path +
           "\" cannot be read: No such file or directory; check the path (relative to the config "
           "file's directory) and that uid " +
           std::to_string(::geteuid()) + " may read it";
}

TEST_F(tls_files, a_usable_pair_reports_its_names_and_dates)
{
    const auto not_before = floor<seconds>(now - days(1));
    const auto not_after = floor<seconds>(now + days(90));
    const auto site = test::write_self_signed(dir.path(), "site",
                                              {.names = {"example.com", "www.example.com"},
                                               .not_before = not_before,
                                               .not_after = not_after});
    const auto report = inspect(site.cert, site.key);
    EXPECT_EQ(report.error, "");
    EXPECT_EQ(report.facts.names, (std::vector<std::string>{"example.com", "www.example.com"}));
    EXPECT_TRUE(report.facts.not_before == not_before);
    EXPECT_TRUE(report.facts.not_after == not_after);
}

TEST_F(tls_files, without_subject_alt_names_the_common_name_names_the_certificate)
{
    const auto old = test::write_self_signed(dir.path(), "old",
                                             {.names = {}, .common_name = "legacy.example"});
    EXPECT_EQ(inspect(old.cert, old.key).facts.names, std::vector<std::string>{"legacy.example"});
}

TEST_F(tls_files, the_first_certificate_of_a_chain_file_is_the_leaf)
{
    const auto ca = test::write_ca(dir.path(), "ca");
    const auto leaf = test::write_signed(dir.path(), "leaf", ca, {.names = {"app.internal"}},
                                         /*with_chain=*/true);
    const auto report = inspect(leaf.cert, leaf.key);
    EXPECT_EQ(report.error, "");
    EXPECT_EQ(report.facts.names, std::vector<std::string>{"app.internal"});
}

TEST_F(tls_files, each_unusable_pair_is_named_with_its_file_and_fix)
{
    const auto site = test::write_self_signed(dir.path(), "site");
    const auto other = test::write_self_signed(dir.path(), "other");
    const auto locked = test::write_self_signed(dir.path(), "locked", {.passphrase = "secret"});
    const auto expired = test::write_self_signed(
        dir.path(), "expired", {.not_before = now - days(30), .not_after = now - days(2)});
    const auto der = file("site.der", "\x30\x82\x01\x0a garbage");
    const auto empty_pem = file("empty.pem", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC "
                                             "KEY-----\n");
    const auto missing = file("missing.crt");
    struct bad_case {
        std::string cert, key;
        std::string_view at;
        std::string error;
    };
    const bad_case cases[] = {
        {missing, site.key, "cert", unreadable(missing)},
        {site.cert, missing, "key", unreadable(missing)},
        {dir.path().string(), site.key, "cert",
         "\"" + dir.path().string() + "\" is a directory; expected a PEM file"},
        {der, site.key, "cert",
         "\"" + der +
             "\" is not PEM (no \"-----BEGIN CERTIFICATE-----\" line); if it is DER, convert it: "
             "openssl x509 -inform der -in " +
             der + " -out " + der + ".pem"},
        {site.key, site.cert, "cert",
         "\"" + site.key + "\" holds a private key, not a certificate; are cert and key swapped?"},
        {empty_pem, site.key, "cert",
         "\"" + empty_pem +
             "\" holds no certificate (no \"-----BEGIN CERTIFICATE-----\" line); give the PEM "
             "certificate file"},
        {site.cert, other.cert, "key",
         "\"" + other.cert +
             "\" holds a certificate, not a private key; are cert and key "
             "swapped?"},
        {site.cert, der, "key",
         "\"" + der +
             "\" is not PEM (no \"-----BEGIN PRIVATE KEY-----\" line); if it is DER, convert it: "
             "openssl pkey -inform der -in " +
             der + " -out " + der + ".pem"},
        {site.cert, other.key, "key",
         "the key in \"" + other.key + "\" does not match the certificate in \"" + site.cert +
             "\"; give the key the certificate was issued for (the outputs of `openssl x509 "
             "-noout -pubkey -in CERT` and `openssl pkey -pubout -in KEY` must be the same)"},
        {locked.cert, locked.key, "key",
         "\"" + locked.key +
             "\" is protected by a passphrase, which sluice cannot ask for; store it without one "
             "(openssl pkey -in " +
             locked.key + " -out " + locked.key + ".plain), readable by sluice only"},
        {expired.cert, expired.key, "cert",
         "\"" + expired.cert + "\" expired on " + format_utc(floor<seconds>(now - days(2))) +
             "; renew it (e.g. certbot renew) and reload"},
    };
    for (const auto& c : cases) {
        const auto report = inspect(c.cert, c.key);
        EXPECT_EQ(report.error, c.error);
        EXPECT_EQ(report.key, c.at) << c.error;
    }
}

TEST_F(tls_files, a_ca_file_must_hold_a_certificate)
{
    const auto ca = test::write_ca(dir.path(), "ca");
    EXPECT_EQ(ca_file_problem(ca.cert), "");
    EXPECT_EQ(ca_file_problem(file("none.pem")), unreadable(file("none.pem")));
    EXPECT_EQ(ca_file_problem(ca.key),
              "\"" + ca.key +
                  "\" holds no PEM certificate (no \"-----BEGIN CERTIFICATE-----\" line); "
                  "expected the CA certificates that signed the server's certificate, in PEM");
}

TEST(tls_ciphers, names_and_openssl_strings_are_accepted)
{
    for (const auto* ok : {"intermediate", "modern", "ECDHE-RSA-AES128-GCM-SHA256",
                           "HIGH:!aNULL:!MD5", "ECDHE+AESGCM"})
        EXPECT_EQ(cipher_problem(ok), "") << ok;
    // What the proxy hands to SSL_CTX_set_cipher_list must be accepted as it stands.
    EXPECT_EQ(cipher_problem(std::string(intermediate_tls12_ciphers)), "");
}

TEST(tls_ciphers, what_openssl_refuses_is_an_error_with_examples)
{
    const std::string expected =
        "; expected intermediate, modern, or an OpenSSL cipher string for TLS 1.2 (e.g. "
        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256; `openssl ciphers -v STRING` "
        "shows what one selects)";
    EXPECT_EQ(cipher_problem("strong"), "\"strong\" selects no cipher OpenSSL knows" + expected);
    EXPECT_EQ(cipher_problem(""), "is empty" + expected);
    EXPECT_EQ(cipher_problem("TLS_AES_128_GCM_SHA256"),
              "\"TLS_AES_128_GCM_SHA256\" selects no cipher OpenSSL knows (TLS 1.3 suites such as "
              "TLS_AES_128_GCM_SHA256 are not set here: sluice uses OpenSSL's defaults for TLS "
              "1.3)" +
                  expected);
}

TEST(tls_ciphers, modern_offers_no_tls12_and_raises_the_floor_to_13)
{
    listener_tls t;
    EXPECT_EQ(tls12_cipher_list(t), intermediate_tls12_ciphers);
    EXPECT_EQ(effective_min_version(t), tls_version::v1_2);
    t.ciphers = "modern";
    EXPECT_EQ(tls12_cipher_list(t), "");
    EXPECT_EQ(effective_min_version(t), tls_version::v1_3);
    t.ciphers = "ECDHE+AESGCM";
    EXPECT_EQ(tls12_cipher_list(t), "ECDHE+AESGCM");
    t.min_version = tls_version::v1_3;
    EXPECT_EQ(effective_min_version(t), tls_version::v1_3);
}

TEST(tls_dates, are_written_in_utc_and_counted_in_whole_days)
{
    const auto t = system_clock::from_time_t(1798761600);  // 2027-01-01 00:00:00 UTC
    EXPECT_EQ(format_utc(t), "2027-01-01 00:00 UTC");
    EXPECT_EQ(days_between(t - days(13) - hours(23), t), 13);
    EXPECT_EQ(days_between(t - hours(1), t), 0);
    EXPECT_EQ(days_between(t + hours(1), t), -1);
}

}  // namespace
}  // namespace sluice::config
