#pragma once
// HTTP/1.1 on plain POSIX sockets, shared by the test client and the scripted backend: header
// lists, head parsing, and a byte stream whose every read has a deadline, so a hung peer fails a
// test instead of hanging it. No Asio or Beast: the tests must not share the proxy's parser.

#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

struct ssl_st;

namespace sluice::test {

using namespace std::chrono_literals;
using millis = std::chrono::milliseconds;
constexpr std::uint64_t mib = 1024 * 1024;

bool iequals(std::string_view a, std::string_view b);

// Header fields in arrival order; lookups ignore case, as HTTP does.
class header_list {
public:
    header_list() = default;
    header_list(std::initializer_list<std::pair<std::string, std::string>> fields);

    void add(std::string name, std::string value);
    std::optional<std::string> get(std::string_view name) const;  // the first one
    std::string value(std::string_view name) const;               // "" when absent
    bool contains(std::string_view name) const;
    std::size_t count(std::string_view name) const;
    const std::vector<std::pair<std::string, std::string>>& fields() const { return fields_; }
    std::string serialize() const;  // "Name: value\r\n" each

private:
    std::vector<std::pair<std::string, std::string>> fields_;
};

// A head split at the first line: "GET / HTTP/1.1" or "HTTP/1.1 200 OK", then the fields.
struct parsed_head {
    std::string first_line;
    header_list headers;
};
std::optional<parsed_head> parse_head(std::string_view head);

// Deterministic body bytes: large transfers are generated and checked piece by piece, never held
// whole. pattern_byte(i) is the i-th byte of every generated body.
char pattern_byte(std::uint64_t offset);
std::string pattern_bytes(std::uint64_t offset, std::size_t size);

// Checks a body arriving in pieces against the pattern.
class pattern_checker {
public:
    void feed(std::string_view piece);
    std::uint64_t size() const { return size_; }
    bool ok() const { return ok_; }

private:
    std::uint64_t size_ = 0;
    bool ok_ = true;
};

int connect_tcp(std::uint16_t port, millis timeout = 5s);  // 127.0.0.1; -1 on failure
int connect_unix(const std::string& path);                 // -1 on failure

// A connected socket (owned) with a receive buffer. Reads wait at most `timeout` for each piece.
class byte_stream {
public:
    using sink = std::function<void(std::string_view)>;
    enum class status { ok, closed, timeout, malformed };

    explicit byte_stream(int fd);
    ~byte_stream();
    byte_stream(const byte_stream&) = delete;
    byte_stream& operator=(const byte_stream&) = delete;

    int fd() const { return fd_; }
    void close();
    // From now on reads and writes go through TLS on this socket (tls_client.hpp does the
    // handshake); the stream owns `ssl`.
    void use_tls(ssl_st* ssl);
    ssl_st* tls() const { return ssl_; }

    // Through the blank line; ok only for a complete head of at most max_size bytes.
    status read_head(std::string& head, millis timeout, std::size_t max_size = 1 << 20);
    status read_exact(std::uint64_t size, const sink& out, millis timeout);
    status read_chunked(const sink& out, millis timeout);  // body only; trailers dropped
    status read_until_close(const sink& out, millis timeout);
    // Whatever arrives within `timeout` (or before close), without waiting for more.
    std::string read_some(millis timeout);

    bool write_all(std::string_view bytes);
    // True when the peer has closed (EOF pending) or reset; never blocks.
    bool peer_closed();
    // Waits until the peer closes, up to `timeout`, discarding data. True when it closed.
    bool wait_closed(millis timeout);

private:
    status fill(std::chrono::steady_clock::time_point deadline);
    status fill_tls(std::chrono::steady_clock::time_point deadline);
    status read_line(std::string& line, std::chrono::steady_clock::time_point deadline);

    int fd_;
    ssl_st* ssl_ = nullptr;
    std::string buffer_;
    std::size_t begin_ = 0;  // consumed prefix of buffer_
};

}  // namespace sluice::test
