#pragma once
// A listening socket (TCP or unix:) that hands each accepted connection to a worker thread,
// round-robin, and stops accepting while `max_connections` client connections are open (the
// kernel backlog holds the excess, as HAProxy's maxconn does).

#include "config/model.hpp"

#include <memory>
#include <string>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace sluice::proxy {

class worker;

class listener {
public:
    // Binds at once; throws std::runtime_error naming the address when it cannot.
    listener(boost::asio::io_context& accept_io, const config::listener& cfg,
             std::vector<worker*> workers);
    ~listener();

    void start();
    void stop();
    std::string local_address() const;  // "127.0.0.1:8080" with the real port
    std::uint64_t open_connections() const;
    bool at_limit() const;
    // A reload keeps the socket; only max_connections and defer_accept can change without a
    // re-bind.
    void update(const config::listener& cfg);
    const std::string& bind_text() const;

private:
    struct impl;
    std::shared_ptr<impl> impl_;
};

}  // namespace sluice::proxy
