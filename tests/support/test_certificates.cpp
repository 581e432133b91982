#include "support/test_certificates.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <stdexcept>

namespace sluice::test {
namespace {

template <auto Free>
struct deleter {
    template <class T>
    void operator()(T* p) const
    {
        Free(p);
    }
};
using key_ptr = std::unique_ptr<EVP_PKEY, deleter<EVP_PKEY_free>>;
using cert_ptr = std::unique_ptr<X509, deleter<X509_free>>;
using bio_ptr = std::unique_ptr<BIO, deleter<BIO_free_all>>;

[[noreturn]] void fail(const std::string& what)
{
    std::string reason = "unknown";
    if (const auto code = ERR_get_error()) {
        char text[256];
        ERR_error_string_n(code, text, sizeof text);
        reason = text;
    }
    ERR_clear_error();
    throw std::runtime_error("test_certificates: " + what + ": " + reason);
}

template <class T>
T* checked(T* p, const std::string& what)
{
    if (!p) fail(what);
    return p;
}

void ok(int result, const std::string& what)
{
    if (result != 1) fail(what);
}

key_ptr new_key()
{
    return key_ptr(checked(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"), "EC keygen"));
}

void add_extension(X509* cert, X509* issuer, int nid, const std::string& value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    auto* ext = checked(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()), value);
    const int added = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    if (added != 1) fail("add extension " + value);
}

void set_time(ASN1_TIME* field, std::chrono::system_clock::time_point t)
{
    checked(ASN1_TIME_set(field, std::chrono::system_clock::to_time_t(t)), "set validity");
}

std::string common_name_of(const certificate_spec& spec, const char* fallback)
{
    if (!spec.common_name.empty()) return spec.common_name;
    return spec.names.empty() ? fallback : spec.names.front();
}

// A certificate for `key` with the subject, validity and serial of `spec`, not yet signed nor
// extended; `issuer` null means self-issued.
cert_ptr new_certificate(EVP_PKEY* key, const std::string& common_name,
                         const certificate_spec& spec, X509* issuer)
{
    cert_ptr cert(checked(X509_new(), "X509_new"));
    ok(X509_set_version(cert.get(), X509_VERSION_3), "set version");
    unsigned char serial[8];
    ok(RAND_bytes(serial, sizeof serial), "serial");
    serial[0] &= 0x7f;  // positive
    auto* bn = checked(BN_bin2bn(serial, sizeof serial, nullptr), "serial");
    const bool serial_set = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get())) != nullptr;
    BN_free(bn);
    if (!serial_set) fail("serial");
    set_time(X509_getm_notBefore(cert.get()), spec.not_before);
    set_time(X509_getm_notAfter(cert.get()), spec.not_after);
    auto* name = X509_get_subject_name(cert.get());
    ok(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                  reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                                  -1, 0),
       "subject");
    ok(X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name), "issuer");
    ok(X509_set_pubkey(cert.get(), key), "public key");
    return cert;
}

void write_files(const std::filesystem::path& dir, const std::string& stem, EVP_PKEY* key,
                 const std::vector<X509*>& chain, const std::string& passphrase, pem_files& out)
{
    std::filesystem::create_directories(dir);
    out.cert = (dir / (stem + ".crt")).string();
    out.key = (dir / (stem + ".key")).string();
    bio_ptr cert_bio(checked(BIO_new_file(out.cert.c_str(), "w"), "open " + out.cert));
    for (auto* c : chain) ok(PEM_write_bio_X509(cert_bio.get(), c), "write " + out.cert);
    bio_ptr key_bio(checked(BIO_new_file(out.key.c_str(), "w"), "open " + out.key));
    const auto* cipher = passphrase.empty() ? nullptr : EVP_aes_256_cbc();
    auto* pass = passphrase.empty() ? nullptr : const_cast<char*>(passphrase.c_str());
    ok(PEM_write_bio_PrivateKey(key_bio.get(), key, cipher, nullptr, 0, nullptr, pass),
       "write " + out.key);
    std::filesystem::permissions(out.key, std::filesystem::perms::owner_read |
                                              std::filesystem::perms::owner_write);
}

void add_names(X509* cert, X509* issuer, const certificate_spec& spec)
{
    if (spec.names.empty()) return;
    std::string san;
    for (const auto& n : spec.names) san += (san.empty() ? "DNS:" : ",DNS:") + n;
    add_extension(cert, issuer, NID_subject_alt_name, san);
}

void sign(X509* cert, EVP_PKEY* key)
{
    if (X509_sign(cert, key, EVP_sha256()) <= 0) fail("sign");
}

template <class T, class Read>
T read_pem(const std::string& path, Read read)
{
    bio_ptr bio(checked(BIO_new_file(path.c_str(), "r"), "open " + path));
    return T(checked(read(bio.get(), nullptr, nullptr, nullptr), "read " + path));
}

}  // namespace

pem_files write_self_signed(const std::filesystem::path& dir, const std::string& stem,
                            const certificate_spec& spec)
{
    const auto key = new_key();
    const auto cert = new_certificate(key.get(), common_name_of(spec, "sluice test"), spec,
                                      nullptr);
    add_extension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:FALSE");
    add_extension(cert.get(), cert.get(), NID_key_usage, "critical,digitalSignature");
    add_extension(cert.get(), cert.get(), NID_ext_key_usage, "serverAuth");
    add_names(cert.get(), cert.get(), spec);
    sign(cert.get(), key.get());
    pem_files out;
    write_files(dir, stem, key.get(), {cert.get()}, spec.passphrase, out);
    return out;
}

pem_files write_ca(const std::filesystem::path& dir, const std::string& stem,
                   const certificate_spec& spec)
{
    const auto key = new_key();
    const auto name = spec.common_name.empty() ? "sluice test CA" : spec.common_name;
    const auto cert = new_certificate(key.get(), name, spec, nullptr);
    add_extension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE");
    add_extension(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
    add_extension(cert.get(), cert.get(), NID_subject_key_identifier, "hash");
    sign(cert.get(), key.get());
    pem_files out;
    write_files(dir, stem, key.get(), {cert.get()}, spec.passphrase, out);
    return out;
}

pem_files write_signed(const std::filesystem::path& dir, const std::string& stem,
                       const pem_files& ca, const certificate_spec& spec, bool with_chain)
{
    const auto ca_cert = read_pem<cert_ptr>(ca.cert, PEM_read_bio_X509);
    const auto ca_key = read_pem<key_ptr>(ca.key, PEM_read_bio_PrivateKey);
    const auto key = new_key();
    const auto cert = new_certificate(key.get(), common_name_of(spec, "sluice test"), spec,
                                      ca_cert.get());
    add_extension(cert.get(), ca_cert.get(), NID_basic_constraints, "critical,CA:FALSE");
    add_extension(cert.get(), ca_cert.get(), NID_key_usage, "critical,digitalSignature");
    add_extension(cert.get(), ca_cert.get(), NID_ext_key_usage, "serverAuth");
    add_extension(cert.get(), ca_cert.get(), NID_authority_key_identifier, "keyid:always");
    add_names(cert.get(), ca_cert.get(), spec);
    sign(cert.get(), ca_key.get());
    std::vector<X509*> chain{cert.get()};
    if (with_chain) chain.push_back(ca_cert.get());
    pem_files out;
    write_files(dir, stem, key.get(), chain, spec.passphrase, out);
    return out;
}

scratch_dir::scratch_dir(const std::string& prefix)
{
    auto pattern = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp " + pattern + " failed");
    path_ = pattern;
}

scratch_dir::~scratch_dir()
{
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
}

}  // namespace sluice::test
