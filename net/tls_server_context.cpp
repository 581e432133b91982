#include "net/tls_server_context.hpp"

#include "net/ticket_keys.hpp"

#include "config/tls_files.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <stdexcept>

#include <strings.h>

namespace sluice::net {

namespace {

struct ctx_free {
    void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
using ctx_ptr = std::unique_ptr<SSL_CTX, ctx_free>;

std::string openssl_reason()
{
    const auto code = ERR_peek_last_error();
    ERR_clear_error();
    if (code == 0) return "unknown OpenSSL error";
    const char* reason = ERR_reason_error_string(code);
    return reason ? reason : "OpenSSL error " + std::to_string(code);
}

[[noreturn]] void fail(const config::listener& l, const std::string& what)
{
    throw std::runtime_error("listener " + l.name + ": TLS: " + what);
}

int on_alpn(SSL*, const unsigned char** out, unsigned char* out_len, const unsigned char* in,
            unsigned in_len, void* arg)
{
    const auto* ours = static_cast<const std::string*>(arg);
    unsigned char* chosen = nullptr;
    if (SSL_select_next_proto(
            &chosen, out_len, reinterpret_cast<const unsigned char*>(ours->data()),
            static_cast<unsigned>(ours->size()), in, in_len) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_ALERT_FATAL;  // RFC 7301: no_application_protocol
    *out = chosen;
    return SSL_TLSEXT_ERR_OK;
}

}  // namespace

bool serves_name(const std::vector<std::string>& names, std::string_view host)
{
    const auto same = [](std::string_view a, std::string_view b) {
        return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
    };
    for (const auto& n : names)
        if (same(n, host)) return true;
    const auto dot = host.find('.');
    if (dot == std::string_view::npos || dot == 0) return false;
    for (const auto& n : names)
        if (n.size() > 2 && n.starts_with("*.") &&
            same(std::string_view(n).substr(1), host.substr(dot)))
            return true;
    return false;
}

struct tls_server_context::impl {
    std::vector<ctx_ptr> contexts;  // parallel to certificates; the first is the default
    std::vector<certificate> certificates;
    std::shared_ptr<ticket_keys> keys;
    std::string alpn_wire;  // the listener's ALPN list, length-prefixed

    ctx_ptr make_context(const config::listener& l, const config::tls_certificate& c);
    static int on_server_name(SSL* ssl, int*, void* arg);
};

ctx_ptr tls_server_context::impl::make_context(const config::listener& l,
                                               const config::tls_certificate& c)
{
    ctx_ptr ctx(SSL_CTX_new(TLS_server_method()));
    if (!ctx) fail(l, "cannot make a context: " + openssl_reason());
    const auto& tls = *l.tls;
    // TLS 1.3 suites are OpenSSL's defaults, which are Mozilla's for every profile.
    const std::string tls12(config::tls12_cipher_list(tls));
    const bool tls13_only = config::effective_min_version(tls) == config::tls_version::v1_3;
    SSL_CTX_set_min_proto_version(ctx.get(), tls13_only ? TLS1_3_VERSION : TLS1_2_VERSION);
    if (!tls13_only && SSL_CTX_set_cipher_list(ctx.get(), tls12.c_str()) != 1)
        fail(l, "ciphers \"" + tls.ciphers + "\": " + openssl_reason());
    SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_dh_auto(ctx.get(), 1);  // the DHE suites of the intermediate list need groups
    // An idle connection gives its read and write buffers back (about 34 KiB).
    SSL_CTX_set_mode(ctx.get(), SSL_MODE_RELEASE_BUFFERS);
    if (SSL_CTX_use_certificate_chain_file(ctx.get(), c.cert.c_str()) != 1)
        fail(l, "certificate " + c.cert + ": " + openssl_reason() +
                    "; it must be PEM, the certificate first and then its chain");
    if (SSL_CTX_use_PrivateKey_file(ctx.get(), c.key.c_str(), SSL_FILETYPE_PEM) != 1)
        fail(l, "key " + c.key + ": " + openssl_reason() + "; it must be a PEM private key");
    if (SSL_CTX_check_private_key(ctx.get()) != 1)
        fail(l, "key " + c.key + " does not match certificate " + c.cert);
    const std::string id = "sluice:" + l.name;
    SSL_CTX_set_session_id_context(ctx.get(), reinterpret_cast<const unsigned char*>(id.data()),
                                   static_cast<unsigned>(std::min<std::size_t>(id.size(), 32)));
    SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_SERVER);
    SSL_CTX_sess_set_cache_size(ctx.get(), 20000);
    SSL_CTX_set_timeout(ctx.get(), 3600);
    keys->install(ctx.get());
    if (!alpn_wire.empty()) SSL_CTX_set_alpn_select_cb(ctx.get(), on_alpn, &alpn_wire);
    return ctx;
}

// Picks the certificate for the client's SNI: the handshake goes on with the context of the
// first whose names serve it, else with the default.
int tls_server_context::impl::on_server_name(SSL* ssl, int*, void* arg)
{
    const auto* self = static_cast<const impl*>(arg);
    const char* host = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (!host) return SSL_TLSEXT_ERR_NOACK;
    for (std::size_t i = 0; i < self->certificates.size(); ++i) {
        if (!serves_name(self->certificates[i].names, host)) continue;
        if (i > 0) SSL_set_SSL_CTX(ssl, self->contexts[i].get());
        return SSL_TLSEXT_ERR_OK;
    }
    return SSL_TLSEXT_ERR_OK;  // the default certificate, as a client without SNI gets
}

tls_server_context::tls_server_context(const config::listener& l,
                                       std::shared_ptr<ticket_keys> previous_keys)
    : impl_(std::make_unique<impl>())
{
    if (!l.tls || l.tls->certificates.empty()) fail(l, "no certificates");
    impl_->keys = previous_keys ? std::move(previous_keys) : std::make_shared<ticket_keys>();
    const auto offer = [this](std::string_view p) {
        impl_->alpn_wire.push_back(static_cast<char>(p.size()));
        impl_->alpn_wire += p;
    };
    for (const auto& p : l.tls->alpn) {
        offer(p);
        // An HTTP/1.1 server serves HTTP/1.0 clients too, as NGINX offers it: `curl -0` asks for
        // http/1.0 alone, and would otherwise fail the handshake. Second, so a client offering
        // both gets 1.1.
        if (p == "http/1.1") offer("http/1.0");
    }
    for (const auto& c : l.tls->certificates) {
        impl_->contexts.push_back(impl_->make_context(l, c));
        X509* cert = SSL_CTX_get0_certificate(impl_->contexts.back().get());
        auto facts = config::facts_of(cert);
        impl_->certificates.push_back({c.cert, std::move(facts.names), facts.not_after});
    }
    SSL_CTX_set_tlsext_servername_callback(impl_->contexts.front().get(), impl::on_server_name);
    SSL_CTX_set_tlsext_servername_arg(impl_->contexts.front().get(), impl_.get());
}

tls_server_context::~tls_server_context() = default;

ssl_st* tls_server_context::new_session() const { return SSL_new(impl_->contexts.front().get()); }

const std::vector<tls_server_context::certificate>& tls_server_context::certificates() const
{
    return impl_->certificates;
}

const std::shared_ptr<ticket_keys>& tls_server_context::keys() const { return impl_->keys; }

}  // namespace sluice::net
