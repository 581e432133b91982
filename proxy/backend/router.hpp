#pragma once
// Request head -> route of a listener: the first route whose every given field matches wins;
// none matching means the listener's default_backend. Pure: no sockets, no allocation per call.

#include "config/model.hpp"

#include <string_view>

namespace sluice::proxy {

struct request_head_view {
    std::string_view method;  // "GET"
    std::string_view host;    // Host header as sent, maybe with ":port"
    std::string_view target;  // "/path?query"
};

class router {
public:
    explicit router(const config::listener& listener);

    // The matching route, or nullptr when the default backend applies.
    const config::route* match(const request_head_view& head) const;

    // The backend name for a head: the route's, or the listener's default_backend.
    const std::string& backend_for(const request_head_view& head) const;

private:
    const config::listener* listener_;
};

}  // namespace sluice::proxy
