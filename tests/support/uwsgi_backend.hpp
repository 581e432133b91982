#pragma once
// A uwsgi-protocol app server for integration tests, standing in for uWSGI behind `protocol:
// uwsgi`: it reads one packet per connection (4-byte header, vars block, then CONTENT_LENGTH body
// bytes), records the vars, answers with a raw HTTP response and closes, as uWSGI does. It listens
// on 127.0.0.1 port 0 or a unix socket and joins all its threads in the destructor.
//
//   uwsgi_backend app;                       // answers "200, text/plain, METHOD PATH_INFO\n"
//   ... app.address() goes into the proxy's config with `protocol: uwsgi` ...
//   EXPECT_EQ(app.requests().at(0).vars.value("PATH_INFO"), "/a b");
//
// A packet with modifier1 != 0 (e.g. plain HTTP: "GET " reads as modifier1 'G') is counted in
// malformed_packets() and the connection closed unanswered, like uWSGI's "unavailable modifier".

#include "support/wire.hpp"

#include <atomic>
#include <mutex>
#include <thread>

namespace sluice::test {

struct uwsgi_request {
    std::size_t order = 0;  // 0-based arrival order
    unsigned modifier2 = 0;
    header_list vars;              // in packet order; lookups ignore case (vars are upper case)
    bool vars_well_formed = true;  // every size fitted the block exactly
    std::uint64_t body_size = 0;   // the CONTENT_LENGTH bytes read after the block
    std::string body;              // the first 1 MiB
};

struct uwsgi_backend_options {
    millis reply_after{0};  // delay between reading the request and answering
    // The raw bytes to answer with; default: uwsgi_echo_reply.
    std::function<std::string(const uwsgi_request&)> handler;
    std::string unix_path;  // "" = TCP 127.0.0.1:0
};

// "HTTP/1.1 200 OK", Content-Type: text/plain, no length (the close ends it, as with uWSGI),
// body "REQUEST_METHOD PATH_INFO\n" then the request body.
std::string uwsgi_echo_reply(const uwsgi_request& request);

// The vars block of a packet; nullopt when a size runs past its end.
std::optional<header_list> parse_uwsgi_vars(std::string_view block);

class uwsgi_backend {
public:
    explicit uwsgi_backend(uwsgi_backend_options options = {});
    ~uwsgi_backend();
    uwsgi_backend(const uwsgi_backend&) = delete;
    uwsgi_backend& operator=(const uwsgi_backend&) = delete;

    std::uint16_t port() const { return port_; }
    // As a sluice server address: "127.0.0.1:PORT" or "unix:/path".
    std::string address() const;

    std::vector<uwsgi_request> requests() const;
    std::size_t request_count() const;
    std::size_t connections_accepted() const { return accepted_.load(); }
    std::size_t malformed_packets() const { return malformed_.load(); }

    // Polls until `count` requests have arrived; false after `timeout`.
    bool wait_for_requests(std::size_t count, millis timeout = 10s) const;

private:
    void accept_loop();
    void serve(int fd);
    std::optional<uwsgi_request> read_request(byte_stream& stream);

    uwsgi_backend_options options_;
    int listen_fd_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<bool> stopping_{false};
    std::atomic<std::size_t> accepted_{0}, malformed_{0};

    mutable std::mutex mutex_;   // guards everything below
    std::vector<int> open_fds_;  // closed by their own thread under mutex_, so never reused early
    std::vector<uwsgi_request> requests_;
    std::vector<std::thread> connections_;
    std::thread acceptor_;
};

}  // namespace sluice::test
