#pragma once
// A bare HTTPS server for tests that need one sluice cannot be: serving a certificate sluice
// refuses to load (expired), or a body it ends by closing. Answers every request with
// `response` (by default 200 "ok") and closes, after its close_notify unless told not to; a
// failed handshake just ends that connection. Listens on 127.0.0.1 port 0.

#include "support/test_certificates.hpp"

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

namespace sluice::test {

class tls_server {
public:
    explicit tls_server(const pem_files& certificate,
                        std::string response = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                                               "Connection: close\r\n\r\nok",
                        bool close_notify = true);
    ~tls_server();
    tls_server(const tls_server&) = delete;
    tls_server& operator=(const tls_server&) = delete;

    std::uint16_t port() const { return port_; }
    unsigned handshakes() const { return handshakes_.load(); }

private:
    void serve();

    std::string response_;
    bool close_notify_;
    int listener_ = -1;
    std::uint16_t port_ = 0;
    void* ctx_ = nullptr;  // SSL_CTX
    std::atomic<unsigned> handshakes_{0};
    std::thread thread_;
};

}  // namespace sluice::test
