#pragma once
// The bytes of one active health check request (SPEC.md "Health checks", "Checks speak the
// backend's protocol"), in the backend's protocol: an HTTP/1.1 request with `Connection: close`,
// or for `protocol: uwsgi` the same request as a uwsgi packet (uwsgi_request), to which uWSGI
// writes back an HTTP response, so the checker reads both answers alike. Pure; built by the
// proxy when it hands the checker its targets, so health/ needs no proxy code.

#include "config/model.hpp"

#include <string>

namespace sluice::proxy {

struct check_request {
    std::string bytes;
    std::string error;  // set (and bytes empty) when the head cannot be encoded at all
};

// Host: `health.http.host`, else the server's address ("localhost" for a unix socket).
check_request make_check_request(const config::health_http& h, const config::endpoint& address,
                                 config::protocol p);

}  // namespace sluice::proxy
