#pragma once
// TLS for the test client: a handshake on a `connection` (after any bytes sent in the clear,
// such as a PROXY header), after which its requests and reads go through TLS.
//
//   connection c{proxy.port()};
//   auto h = start_tls(c, {.sni = "a.test", .ca_file = certs.ca});
//   ASSERT_TRUE(h.ok) << h.error;
//   auto r = c.send({.path = "/"});

#include "support/http_client.hpp"

#include <memory>
#include <string>
#include <vector>

struct ssl_session_st;

namespace sluice::test {

using tls_session = std::shared_ptr<ssl_session_st>;

struct tls_options {
    std::string sni;                       // "" = none
    int min_version = 0, max_version = 0;  // TLS1_2_VERSION etc.; 0 = OpenSSL's
    std::vector<std::string> alpn{"http/1.1"};
    std::string ca_file;  // "" = no verification
    tls_session resume;   // a session from an earlier connection
    millis timeout = std::chrono::seconds(5);
};

struct tls_handshake {
    bool ok = false;
    std::string error;    // OpenSSL's words when !ok
    std::string version;  // "TLSv1.3"
    bool resumed = false;
    std::string alpn;                     // what the server chose
    std::vector<std::string> peer_names;  // DNS names of its certificate (else CN)
};

tls_handshake start_tls(connection& c, const tls_options& options);

// The connection's session, to resume later; with TLS 1.3 call it after reading a response
// (the ticket arrives after the handshake).
tls_session session_of(connection& c);

}  // namespace sluice::test
