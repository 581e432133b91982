#pragma once
// A bare HTTPS server for tests that need one sluice cannot be: serving a certificate sluice
// refuses to load (expired). Answers every request with 200 "ok" and closes; a failed
// handshake just ends that connection. Listens on 127.0.0.1 port 0.

#include "support/test_certificates.hpp"

#include <atomic>
#include <cstdint>
#include <thread>

namespace sluice::test {

class tls_server {
public:
    explicit tls_server(const pem_files& certificate);
    ~tls_server();
    tls_server(const tls_server&) = delete;
    tls_server& operator=(const tls_server&) = delete;

    std::uint16_t port() const { return port_; }
    unsigned handshakes() const { return handshakes_.load(); }

private:
    void serve();

    int listener_ = -1;
    std::uint16_t port_ = 0;
    void* ctx_ = nullptr;  // SSL_CTX
    std::atomic<unsigned> handshakes_{0};
    std::thread thread_;
};

}  // namespace sluice::test
