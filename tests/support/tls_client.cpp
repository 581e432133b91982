#include "support/tls_client.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <fcntl.h>
#include <poll.h>

namespace sluice::test {

namespace {

std::string openssl_error()
{
    std::string out;
    while (const auto code = ERR_get_error()) {
        char text[256];
        ERR_error_string_n(code, text, sizeof text);
        if (!out.empty()) out += "; ";
        out += text;
    }
    return out.empty() ? "no OpenSSL error queued" : out;
}

std::vector<std::string> names_of(X509* cert)
{
    std::vector<std::string> names;
    if (!cert) return names;
    auto* sans = static_cast<GENERAL_NAMES*>(
        X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
    for (int i = 0; sans && i < sk_GENERAL_NAME_num(sans); ++i) {
        const auto* n = sk_GENERAL_NAME_value(sans, i);
        if (n->type == GEN_DNS)
            names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(n->d.dNSName)));
    }
    GENERAL_NAMES_free(sans);
    return names;
}

SSL_CTX* client_context(const tls_options& o)
{
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    if (o.min_version) SSL_CTX_set_min_proto_version(ctx, o.min_version);
    if (o.max_version) SSL_CTX_set_max_proto_version(ctx, o.max_version);
    if (!o.ca_file.empty()) {
        SSL_CTX_load_verify_locations(ctx, o.ca_file.c_str(), nullptr);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    }
    // No client cache: freeing the context would flush it and mark its sessions unresumable,
    // and the test keeps a session itself (session_of).
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    return ctx;
}

}  // namespace

tls_handshake start_tls(connection& c, const tls_options& o)
{
    tls_handshake h;
    auto* stream = c.stream();
    if (!stream) {
        h.error = "not connected";
        return h;
    }
    SSL_CTX* ctx = client_context(o);
    SSL* ssl = SSL_new(ctx);
    SSL_CTX_free(ctx);  // the session holds its own reference
    if (!o.sni.empty()) SSL_set_tlsext_host_name(ssl, o.sni.c_str());
    std::string wire;
    for (const auto& p : o.alpn) {
        wire.push_back(static_cast<char>(p.size()));
        wire += p;
    }
    if (!wire.empty())
        SSL_set_alpn_protos(ssl, reinterpret_cast<const unsigned char*>(wire.data()),
                            static_cast<unsigned>(wire.size()));
    if (o.resume) SSL_set_session(ssl, o.resume.get());
    const int fd = stream->fd();
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    SSL_set_fd(ssl, fd);
    const auto deadline = std::chrono::steady_clock::now() + o.timeout;
    for (;;) {
        const int r = SSL_connect(ssl);
        if (r == 1) break;
        const int err = SSL_get_error(ssl, r);
        const auto left = std::chrono::duration_cast<millis>(deadline -
                                                             std::chrono::steady_clock::now());
        if ((err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) || left.count() <= 0) {
            h.error = left.count() <= 0 ? "handshake timed out" : openssl_error();
            SSL_free(ssl);
            return h;
        }
        pollfd p{fd, static_cast<short>(err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT), 0};
        ::poll(&p, 1, static_cast<int>(left.count()));
    }
    h.ok = true;
    h.version = SSL_get_version(ssl);
    h.resumed = SSL_session_reused(ssl) == 1;
    const unsigned char* chosen = nullptr;
    unsigned chosen_len = 0;
    SSL_get0_alpn_selected(ssl, &chosen, &chosen_len);
    h.alpn.assign(reinterpret_cast<const char*>(chosen), chosen_len);
    X509* peer = SSL_get1_peer_certificate(ssl);
    h.peer_names = names_of(peer);
    X509_free(peer);
    stream->use_tls(ssl);
    return h;
}

tls_session session_of(connection& c)
{
    if (!c.stream() || !c.stream()->tls()) return nullptr;
    return tls_session(SSL_get1_session(c.stream()->tls()), SSL_SESSION_free);
}

}  // namespace sluice::test
