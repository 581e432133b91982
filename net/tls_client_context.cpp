#include "net/tls_client_context.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>

#include <mutex>
#include <stdexcept>

namespace sluice::net {

namespace {

int ex_index()
{
    static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

bool is_ip_literal(const std::string& host)
{
    unsigned char buf[sizeof(in6_addr)];
    return inet_pton(AF_INET, host.c_str(), buf) == 1 ||
           inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

}  // namespace

struct tls_client_context::impl {
    SSL_CTX* ctx = nullptr;
    std::string name;  // expected in the certificate, and sent as SNI unless an IP address
    bool verify = true;
    mutable std::mutex mutex;  // the last session, shared by every worker thread
    SSL_SESSION* last = nullptr;

    ~impl()
    {
        if (last) SSL_SESSION_free(last);
        SSL_CTX_free(ctx);
    }

    // OpenSSL hands every new session here (a TLS 1.3 ticket arrives after the handshake).
    static int on_new_session(SSL* ssl, SSL_SESSION* session)
    {
        auto* self = static_cast<impl*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ex_index()));
        if (!self) return 0;
        std::lock_guard lock(self->mutex);
        if (self->last) SSL_SESSION_free(self->last);
        self->last = session;
        return 1;  // the reference is ours now
    }
};

tls_client_context::tls_client_context(const config::backend& b, const config::server& s)
    : impl_(std::make_unique<impl>())
{
    const auto where = "backend " + b.name + ", server " + s.name + ": TLS: ";
    const auto& tls = *s.tls;
    impl_->ctx = SSL_CTX_new(TLS_client_method());
    if (!impl_->ctx) throw std::runtime_error(where + "cannot make a context");
    SSL_CTX_set_min_proto_version(impl_->ctx, TLS1_2_VERSION);
    impl_->verify = tls.verify;
    impl_->name = tls.sni.empty() ? s.address.host : tls.sni;
    if (tls.verify) {
        SSL_CTX_set_verify(impl_->ctx, SSL_VERIFY_PEER, nullptr);
        const bool loaded = tls.ca.empty()
                                ? SSL_CTX_set_default_verify_paths(impl_->ctx) == 1
                                : SSL_CTX_load_verify_locations(impl_->ctx, tls.ca.c_str(),
                                                                nullptr) == 1;
        if (!loaded) {
            ERR_clear_error();
            throw std::runtime_error(where + "cannot load the CA certificates from " +
                                     (tls.ca.empty() ? "the system store" : tls.ca) +
                                     "; point `ca` at a readable PEM file");
        }
    }
    SSL_CTX_set_session_cache_mode(impl_->ctx,
                                   SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(impl_->ctx, impl::on_new_session);
    SSL_CTX_set_ex_data(impl_->ctx, ex_index(), impl_.get());
    SSL_CTX_set_mode(impl_->ctx, SSL_MODE_RELEASE_BUFFERS);
}

tls_client_context::~tls_client_context() = default;

ssl_st* tls_client_context::new_session() const
{
    SSL* ssl = SSL_new(impl_->ctx);
    if (!ssl) return nullptr;
    const auto& name = impl_->name;
    if (!is_ip_literal(name)) SSL_set_tlsext_host_name(ssl, name.c_str());
    if (impl_->verify) {
        auto* param = SSL_get0_param(ssl);
        if (is_ip_literal(name))
            X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str());
        else
            SSL_set1_host(ssl, name.c_str());
    }
    std::lock_guard lock(impl_->mutex);
    if (impl_->last) SSL_set_session(ssl, impl_->last);
    return ssl;
}

std::string_view server_tls_failure(const ssl_st* ssl, std::string& detail)
{
    const long result = SSL_get_verify_result(ssl);
    if (result == X509_V_OK) {
        detail = "the handshake failed";
        return "tls_handshake_failed";
    }
    detail = std::string("certificate verify failed: ") + X509_verify_cert_error_string(result);
    switch (result) {
    case X509_V_ERR_CERT_HAS_EXPIRED: return "tls_certificate_expired";
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH: return "tls_wrong_name";
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE: return "tls_unknown_ca";
    default: return "tls_verify_failed";
    }
}

}  // namespace sluice::net
