#pragma once
// A blocking HTTP/1.1 client for integration tests, over TCP (127.0.0.1) or a unix socket.
// Every read has a deadline: a proxy that hangs makes a response with `error` set, not a hung test.
//
//   auto r = http_get(proxy.port(), "/hello", {{"X-Request-Id", "abc"}});
//   EXPECT_EQ(r.status, 200);
//   connection c{proxy.port()};                 // several requests on one socket
//   auto a = c.send({.path = "/a"});
//   auto raw = raw_exchange(proxy.port(), "GARBAGE\r\n\r\n");   // bytes in, bytes out

#include "support/wire.hpp"

#include <future>
#include <memory>

namespace sluice::test {

// Where to connect: a TCP port on 127.0.0.1, or a unix socket path.
struct target {
    target(std::uint16_t tcp_port) : port(tcp_port) {}  // NOLINT: implicit on purpose
    static target unix_socket(std::string path);

    std::uint16_t port = 0;
    std::string unix_path;
};

struct response {
    int status = 0;  // 0 when no response head arrived (see error)
    std::string reason;
    header_list headers;
    std::string body;  // empty when request_options::keep_body is false
    std::uint64_t body_size = 0;
    bool body_matches_pattern = false;  // the body is pattern_bytes(0, body_size)
    std::vector<int> interim;           // 1xx statuses that came first
    std::string error;                  // "" = a complete response; else what went wrong
};

struct request_options {
    std::string method = "GET";
    std::string path = "/";
    header_list headers;  // Host: 127.0.0.1 is added unless given
    std::string body;
    std::uint64_t generated_body_size = 0;  // > 0: send this many pattern bytes instead of body
    bool chunked = false;                   // Transfer-Encoding: chunked instead of Content-Length
    bool expect_continue = false;           // Expect: 100-continue; the body waits for the 100
    bool keep_body = true;                  // false: count and check the body, do not keep it
    millis timeout = 10s;                   // for each read
};

class connection {
public:
    explicit connection(const target& to, millis connect_timeout = 5s);
    bool connected() const { return stream_ != nullptr; }

    // Writes the request and reads its response (1xx interim responses included in `interim`).
    response send(const request_options& request);
    // Reads one response; `head_request` says there is no body whatever the headers say.
    response read_response(bool head_request = false, bool keep_body = true, millis timeout = 10s);
    bool send_raw(std::string_view bytes);
    // Bytes that arrive until the peer closes, at most `timeout`.
    std::string read_some(millis timeout);
    // Bytes that arrive until there are at least `n` of them (an echo of what was sent), the
    // peer closes or `timeout` passes.
    std::string read_at_least(std::size_t n, millis timeout = 5s);
    // True when the peer closes within `timeout`.
    bool wait_closed(millis timeout);
    bool peer_closed();
    void close();
    byte_stream* stream() { return stream_.get(); }

private:
    bool write_body(const request_options& request);

    std::unique_ptr<byte_stream> stream_;
};

response request(const target& to, const request_options& options);
response http_get(const target& to, std::string path = "/", header_list headers = {});
std::future<response> request_async(target to, request_options options);
std::future<response> http_get_async(target to, std::string path = "/", header_list headers = {});

// Sends raw bytes and returns all that comes back until the peer closes, at most `timeout`.
std::string raw_exchange(const target& to, std::string_view bytes, millis timeout = 5s);

// The status code of the first response line in raw bytes ("HTTP/1.1 400 ..." -> 400); 0 if none.
int status_of(std::string_view raw);

}  // namespace sluice::test
