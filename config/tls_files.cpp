#include "config/tls_files.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <memory>

namespace sluice::config {
namespace {

template <auto Free>
struct deleter {
    template <class T>
    void operator()(T* p) const
    {
        Free(p);
    }
};
using bio_ptr = std::unique_ptr<BIO, deleter<BIO_free>>;
using cert_ptr = std::unique_ptr<X509, deleter<X509_free>>;
using key_ptr = std::unique_ptr<EVP_PKEY, deleter<EVP_PKEY_free>>;
using ctx_ptr = std::unique_ptr<SSL_CTX, deleter<SSL_CTX_free>>;
struct file_closer {
    void operator()(std::FILE* f) const { std::fclose(f); }
};

// A CA bundle is a few hundred kilobytes; anything far larger is not a PEM file (or /dev/zero).
constexpr std::size_t max_file_size = 16 * 1024 * 1024;

std::string quoted(const std::string& path)
{
    std::string out = "\"";  // built in steps: GCC 12 warns (-Wrestrict) on "\"" + string
    out += path;
    out += '"';
    return out;
}

// OpenSSL's reason for the last failure, and an empty queue for whoever uses OpenSSL next.
std::string openssl_reason()
{
    const auto code = ERR_peek_last_error();
    const char* reason = code ? ERR_reason_error_string(code) : nullptr;
    ERR_clear_error();
    return reason ? reason : "unknown reason";
}

struct file_text {
    std::string text;
    std::string problem;  // "" when read
};

// The whole file, or why it cannot be read, in an operator's words.
file_text read_file(const std::string& path)
{
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
        return {"", quoted(path) + " is a directory; expected a PEM file"};
    std::unique_ptr<std::FILE, file_closer> f(std::fopen(path.c_str(), "rb"));
    if (!f)
        return {"", quoted(path) + " cannot be read: " + std::strerror(errno) +
                        "; check the path (relative to the config file's directory) and that uid " +
                        std::to_string(::geteuid()) + " may read it"};
    file_text out;
    char buffer[8192];
    while (const auto n = std::fread(buffer, 1, sizeof buffer, f.get())) {
        out.text.append(buffer, n);
        if (out.text.size() > max_file_size)
            return {"", quoted(path) + " is over 16m; expected a PEM file"};
    }
    if (std::ferror(f.get()))
        return {"", quoted(path) + " cannot be read: " + std::strerror(errno)};
    return out;
}

bio_ptr memory_bio(const std::string& text)
{
    return bio_ptr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

bool has(const std::string& text, std::string_view what)
{
    return text.find(what) != std::string::npos;
}

// Why a file that was read holds no usable certificate.
std::string no_certificate(const std::string& path, const std::string& text,
                           const std::string& reason)
{
    const auto name = quoted(path);
    if (!has(text, "-----BEGIN "))
        return name +
               " is not PEM (no \"-----BEGIN CERTIFICATE-----\" line); if it is DER, "
               "convert it: openssl x509 -inform der -in " +
               path + " -out " + path + ".pem";
    if (!has(text, "-----BEGIN CERTIFICATE-----") && has(text, "PRIVATE KEY-----"))
        return name + " holds a private key, not a certificate; are cert and key swapped?";
    if (!has(text, "-----BEGIN CERTIFICATE-----"))
        return name + " holds no certificate (no \"-----BEGIN CERTIFICATE-----\" line); give "
                      "the PEM certificate file";
    return name + " holds a certificate OpenSSL cannot read (" + reason +
           "); check it with: openssl x509 -noout -text -in " + path;
}

std::string no_key(const std::string& path, const std::string& text, const std::string& reason)
{
    const auto name = quoted(path);
    if (!has(text, "-----BEGIN "))
        return name +
               " is not PEM (no \"-----BEGIN PRIVATE KEY-----\" line); if it is DER, "
               "convert it: openssl pkey -inform der -in " +
               path + " -out " + path + ".pem";
    if (!has(text, "PRIVATE KEY-----") && has(text, "-----BEGIN CERTIFICATE-----"))
        return name + " holds a certificate, not a private key; are cert and key swapped?";
    if (!has(text, "PRIVATE KEY-----"))
        return name + " holds no private key (no \"-----BEGIN ... PRIVATE KEY-----\" line); give "
                      "the PEM key file";
    return name + " holds a private key OpenSSL cannot read (" + reason +
           "); check it with: openssl pkey -noout -in " + path;
}

int refuse_passphrase(char*, int, int, void* asked)
{
    *static_cast<bool*>(asked) = true;
    return -1;
}

system_time to_time(const ASN1_TIME* t)
{
    std::tm tm{};
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return {};
    return std::chrono::system_clock::from_time_t(::timegm(&tm));
}

std::string text_of(const ASN1_STRING* s)
{
    unsigned char* utf8 = nullptr;
    const int n = ASN1_STRING_to_UTF8(&utf8, s);
    if (n < 0) return "";
    std::string out(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(n));
    OPENSSL_free(utf8);
    return out;
}

std::vector<std::string> names_of(X509* cert)
{
    std::vector<std::string> names;
    auto* sans = static_cast<GENERAL_NAMES*>(
        X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
    for (int i = 0; sans && i < sk_GENERAL_NAME_num(sans); ++i) {
        const auto* name = sk_GENERAL_NAME_value(sans, i);
        if (name->type == GEN_DNS) names.push_back(text_of(name->d.dNSName));
    }
    GENERAL_NAMES_free(sans);
    if (!names.empty()) return names;
    const auto* subject = X509_get_subject_name(cert);
    const int cn = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (cn >= 0)
        names.push_back(text_of(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, cn))));
    return names;
}

}  // namespace

certificate_facts facts_of(const x509_st* cert)
{
    auto* c = const_cast<X509*>(cert);
    return {names_of(c), to_time(X509_get0_notBefore(c)), to_time(X509_get0_notAfter(c))};
}

std::string_view version_name(tls_version v) { return v == tls_version::v1_3 ? "1.3" : "1.2"; }

std::string_view tls12_cipher_list(const listener_tls& tls)
{
    if (tls.ciphers == "intermediate") return intermediate_tls12_ciphers;
    if (tls.ciphers == "modern") return "";
    return tls.ciphers;
}

tls_version effective_min_version(const listener_tls& tls)
{
    return tls.ciphers == "modern" ? tls_version::v1_3 : tls.min_version;
}

std::string format_utc(system_time t)
{
    const auto seconds = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    ::gmtime_r(&seconds, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%d %H:%M UTC", &tm);
    return text;
}

long days_between(system_time now, system_time t)
{
    return static_cast<long>(std::chrono::floor<std::chrono::days>(t - now).count());
}

certificate_report inspect_certificate(const tls_certificate& c, system_time now)
{
    certificate_report report;
    const auto cert_file = read_file(c.cert);
    if (!cert_file.problem.empty()) return {cert_file.problem, "cert", {}};
    const auto cert_bio = memory_bio(cert_file.text);
    const cert_ptr cert(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
    if (!cert) return {no_certificate(c.cert, cert_file.text, openssl_reason()), "cert", {}};
    report.facts = facts_of(cert.get());
    ERR_clear_error();

    const auto key_file = read_file(c.key);
    if (!key_file.problem.empty()) return {key_file.problem, "key", report.facts};
    const auto key_bio = memory_bio(key_file.text);
    bool asked = false;
    const key_ptr key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, refuse_passphrase, &asked));
    if (!key) {
        const auto reason = openssl_reason();
        report.key = "key";
        report.error = asked ? quoted(c.key) +
                                   " is protected by a passphrase, which sluice cannot ask for; "
                                   "store it without one (openssl pkey -in " +
                                   c.key + " -out " + c.key + ".plain), readable by sluice only"
                             : no_key(c.key, key_file.text, reason);
        return report;
    }
    if (X509_check_private_key(cert.get(), key.get()) != 1) {
        ERR_clear_error();
        report.key = "key";
        report.error = "the key in " + quoted(c.key) + " does not match the certificate in " +
                       quoted(c.cert) +
                       "; give the key the certificate was issued for (the outputs of `openssl "
                       "x509 -noout -pubkey -in CERT` and `openssl pkey -pubout -in KEY` must "
                       "be the same)";
        return report;
    }
    if (report.facts.not_after <= now) {
        report.error = quoted(c.cert) + " expired on " + format_utc(report.facts.not_after) +
                       "; renew it (e.g. certbot renew) and reload";
    }
    return report;
}

std::string ca_file_problem(const std::string& path)
{
    const auto file = read_file(path);
    if (!file.problem.empty()) return file.problem;
    const auto bio = memory_bio(file.text);
    const cert_ptr first(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (first) return "";
    const auto reason = openssl_reason();
    if (!has(file.text, "-----BEGIN CERTIFICATE-----"))
        return quoted(path) +
               " holds no PEM certificate (no \"-----BEGIN CERTIFICATE-----\" line); expected "
               "the CA certificates that signed the server's certificate, in PEM";
    return quoted(path) + " holds a certificate OpenSSL cannot read (" + reason + ")";
}

std::string cipher_problem(const std::string& ciphers)
{
    if (ciphers == "intermediate" || ciphers == "modern") return "";
    const auto expected = "; expected intermediate, modern, or an OpenSSL cipher string for TLS "
                          "1.2 (e.g. ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256; "
                          "`openssl ciphers -v STRING` shows what one selects)";
    if (ciphers.empty()) return std::string("is empty") + expected;
    const ctx_ptr ctx(SSL_CTX_new(TLS_server_method()));
    if (!ctx)
        return "cannot be checked: OpenSSL could not make a TLS context (" + openssl_reason() + ")";
    const bool accepted = SSL_CTX_set_cipher_list(ctx.get(), ciphers.c_str()) == 1;
    ERR_clear_error();
    if (accepted) return "";
    const auto tls13 = ciphers.starts_with("TLS_")
                           ? " (TLS 1.3 suites such as TLS_AES_128_GCM_SHA256 are not set here: "
                             "sluice uses OpenSSL's defaults for TLS 1.3)"
                           : "";
    return quoted(ciphers) + " selects no cipher OpenSSL knows" + tls13 + expected;
}

}  // namespace sluice::config
