#pragma once
// A real HTTP/1.1 app server for integration tests, like the servers of HAProxy's .vtc scripts:
// N sync workers (extra requests wait for one, as in a gunicorn sync pool), slow replies, idle
// close of keep-alive connections, garbage or uwsgi-like raw replies, chunked or huge bodies,
// and a 101 tunnel that echoes. It listens on 127.0.0.1 (or another host and port) or a unix
// socket, records every request, and joins all its threads in the destructor.
//
//   scripted_backend app{{.workers = 1, .reply_after = 2s}};
//   ... app.address() goes into the proxy's config ...
//   EXPECT_EQ(app.requests().at(0).headers.value("Via"), "1.1 sluice");

#include "support/wire.hpp"

#include <atomic>
#include <condition_variable>
#include <list>
#include <memory>
#include <mutex>
#include <thread>

namespace sluice::test {

struct recorded_request {
    std::size_t order = 0;       // 0-based arrival order across all connections
    std::size_t connection = 0;  // 0-based accept order of the connection it came on
    std::string method;
    std::string target;
    header_list headers;
    std::uint64_t body_size = 0;
    std::string body;                   // the first 1 MiB
    bool body_matches_pattern = false;  // the body is pattern_bytes(0, body_size)
};

struct reply {
    int status = 200;
    std::string reason;  // "" = the usual one for the status
    header_list headers;
    std::string body;
    std::uint64_t generated_size = 0;  // > 0: stream this many pattern bytes instead of body
    std::string
        trailing;  // sent right behind the body, in its write: a broken server's stray bytes
    // Stray bytes sent in a write of their own `late_after` the reply, once the response is over
    // (a HEAD or 304 whose body an app writes anyway); late_sent() counts them.
    std::string late;
    millis late_after{0};
    bool chunked = false;
    bool close = false;  // Connection: close, then close
    bool echo = false;   // after this reply (a 101), echo every byte back until the peer closes
    bool silent_close = false;  // instead of a reply, close without a byte (a crashed worker)
};

struct backend_options {
    unsigned workers = 64;          // requests handled at once; more wait for a free worker
    millis reply_after{0};          // delay before answering (the request is read first)
    millis keepalive_timeout = 5s;  // idle keep-alive connections closed after this; 0 = close
                                    // after each response
    std::function<reply(const recorded_request&)> handler;  // default: 200, body = `body`
    std::optional<std::string> raw_reply;  // after reply_after, send these bytes, then close
    bool chunked = false;                  // default replies: Transfer-Encoding: chunked
    std::uint64_t response_size = 0;       // default replies: this many pattern bytes
    std::string body = "hello from backend";
    std::string name = "backend";    // sent as X-Served-By on default replies
    std::string unix_path;           // "" = TCP on host:port
    std::string host = "127.0.0.1";  // 127.0.0.2, .3, ...: distinct servers on one port
    std::uint16_t port = 0;          // 0 = any free port
};

class scripted_backend {
public:
    explicit scripted_backend(backend_options options = {});
    ~scripted_backend();
    scripted_backend(const scripted_backend&) = delete;
    scripted_backend& operator=(const scripted_backend&) = delete;

    std::uint16_t port() const { return port_; }
    // As a sluice server address: "127.0.0.1:PORT" or "unix:/path".
    std::string address() const;

    std::vector<recorded_request> requests() const;
    std::size_t request_count() const;
    std::size_t connections_accepted() const { return accepted_.load(); }
    // Replies whose `late` bytes have been written.
    std::size_t late_sent() const { return late_sent_.load(); }
    // Requests in progress: from the head read until the reply starts (or the request ends
    // without one), so never more than the proxy has in flight to this server.
    unsigned current_requests() const { return current_.load(); }
    unsigned max_concurrent_requests() const { return max_concurrent_.load(); }
    // Requests whose client closed the connection before the reply was sent.
    std::size_t abandoned_requests() const { return abandoned_.load(); }
    // Connections currently open.
    std::size_t open_connections() const { return open_.load(); }

    // Polls until `count` requests have arrived; false after `timeout`.
    bool wait_for_requests(std::size_t count, millis timeout = 10s) const;

private:
    struct connection_slot;
    void accept_loop();
    void serve(std::size_t id, int fd);
    bool serve_one(std::size_t id, byte_stream& stream, bool first);
    bool acquire_worker();
    void release_worker();
    void wait_before_reply(byte_stream& stream);
    bool send_reply(byte_stream& stream, const recorded_request& request, const reply& answer);
    reply default_reply(const recorded_request& request) const;
    void reap_finished();

    backend_options options_;
    int listen_fd_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<bool> stopping_{false};
    std::atomic<std::size_t> accepted_{0}, abandoned_{0}, open_{0}, late_sent_{0};
    std::atomic<unsigned> current_{0}, max_concurrent_{0};

    mutable std::mutex mutex_;  // guards everything below
    std::condition_variable worker_freed_;
    unsigned busy_workers_ = 0;
    std::vector<recorded_request> requests_;
    std::list<std::unique_ptr<connection_slot>> connections_;
    std::thread acceptor_;
};

}  // namespace sluice::test
