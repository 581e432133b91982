#include "support/wire.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

namespace sluice::test {

namespace {

using steady = std::chrono::steady_clock;

int remaining_ms(steady::time_point deadline)
{
    auto left = std::chrono::duration_cast<millis>(deadline - steady::now()).count();
    return static_cast<int>(std::clamp<long long>(left, 0, 1 << 30));
}

std::string_view trim(std::string_view s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

constexpr std::string_view pattern_alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABC";  // 39

}  // namespace

bool iequals(std::string_view a, std::string_view b)
{
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

header_list::header_list(std::initializer_list<std::pair<std::string, std::string>> fields)
    : fields_(fields)
{
}

void header_list::add(std::string name, std::string value)
{
    fields_.emplace_back(std::move(name), std::move(value));
}

std::optional<std::string> header_list::get(std::string_view name) const
{
    for (const auto& [n, v] : fields_)
        if (iequals(n, name)) return v;
    return std::nullopt;
}

std::string header_list::value(std::string_view name) const { return get(name).value_or(""); }

bool header_list::contains(std::string_view name) const { return get(name).has_value(); }

std::size_t header_list::count(std::string_view name) const
{
    return std::count_if(fields_.begin(), fields_.end(),
                         [&](const auto& f) { return iequals(f.first, name); });
}

std::string header_list::serialize() const
{
    std::string out;
    for (const auto& [n, v] : fields_) out += n + ": " + v + "\r\n";
    return out;
}

std::optional<parsed_head> parse_head(std::string_view head)
{
    parsed_head out;
    auto line_end = head.find("\r\n");
    if (line_end == std::string_view::npos) return std::nullopt;
    out.first_line = std::string(head.substr(0, line_end));
    head.remove_prefix(line_end + 2);
    while (!head.empty()) {
        line_end = head.find("\r\n");
        if (line_end == std::string_view::npos) line_end = head.size();
        auto line = head.substr(0, line_end);
        head.remove_prefix(std::min(head.size(), line_end + 2));
        if (line.empty()) break;
        auto colon = line.find(':');
        if (colon == std::string_view::npos) return std::nullopt;
        out.headers.add(std::string(trim(line.substr(0, colon))),
                        std::string(trim(line.substr(colon + 1))));
    }
    return out;
}

char pattern_byte(std::uint64_t offset)
{
    return pattern_alphabet[offset % pattern_alphabet.size()];
}

std::string pattern_bytes(std::uint64_t offset, std::size_t size)
{
    std::string out(size, '\0');
    for (std::size_t i = 0; i < size; ++i) out[i] = pattern_byte(offset + i);
    return out;
}

void pattern_checker::feed(std::string_view piece)
{
    for (std::size_t i = 0; ok_ && i < piece.size(); ++i) ok_ = piece[i] == pattern_byte(size_ + i);
    size_ += piece.size();
}

int connect_tcp(std::uint16_t port, millis timeout)
{
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return -1;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    if (rc != 0 && errno == EINPROGRESS) {
        pollfd p{fd, POLLOUT, 0};
        int err = 0;
        socklen_t len = sizeof err;
        if (::poll(&p, 1, static_cast<int>(timeout.count())) == 1 &&
            ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0)
            rc = 0;
    }
    if (rc != 0) {
        ::close(fd);
        return -1;
    }
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

int connect_unix(const std::string& path)
{
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

byte_stream::byte_stream(int fd) : fd_(fd)
{
    timeval tv{10, 0};  // a peer that stops reading fails a write instead of hanging it
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

byte_stream::~byte_stream() { close(); }

void byte_stream::close()
{
    // A close_notify first: OpenSSL makes a session that ends without one unresumable.
    if (ssl_) SSL_shutdown(ssl_), SSL_free(ssl_);
    ssl_ = nullptr;
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

void byte_stream::use_tls(ssl_st* ssl) { ssl_ = ssl; }

// SSL_read on the socket, waiting for bytes while OpenSSL wants more of a record.
byte_stream::status byte_stream::fill_tls(steady::time_point deadline)
{
    char chunk[16384];
    for (;;) {
        const int n = SSL_read(ssl_, chunk, sizeof chunk);
        if (n > 0) {
            buffer_.append(chunk, static_cast<std::size_t>(n));
            return status::ok;
        }
        const int err = SSL_get_error(ssl_, n);
        if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) return status::closed;
        pollfd p{fd_, static_cast<short>(err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT), 0};
        const int ready = ::poll(&p, 1, remaining_ms(deadline));
        if (ready == 0) return status::timeout;
        if (ready < 0 && errno != EINTR) return status::closed;
    }
}

byte_stream::status byte_stream::fill(steady::time_point deadline)
{
    if (fd_ < 0) return status::closed;
    if (begin_ > 0 && begin_ == buffer_.size()) {
        buffer_.clear();
        begin_ = 0;
    }
    if (ssl_) return fill_tls(deadline);
    pollfd p{fd_, POLLIN, 0};
    int ready = ::poll(&p, 1, remaining_ms(deadline));
    if (ready == 0) return status::timeout;
    if (ready < 0) return errno == EINTR ? fill(deadline) : status::closed;
    char chunk[65536];
    auto n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return status::closed;
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return status::ok;
}

byte_stream::status byte_stream::read_head(std::string& head, millis timeout, std::size_t max_size)
{
    auto deadline = steady::now() + timeout;
    for (;;) {
        auto end = buffer_.find("\r\n\r\n", begin_);
        if (end != std::string::npos) {
            head = buffer_.substr(begin_, end + 4 - begin_);
            begin_ = end + 4;
            return status::ok;
        }
        if (buffer_.size() - begin_ > max_size) return status::malformed;
        if (auto s = fill(deadline); s != status::ok) return s;
    }
}

byte_stream::status byte_stream::read_exact(std::uint64_t size, const sink& out, millis timeout)
{
    while (size > 0) {
        if (begin_ == buffer_.size())
            if (auto s = fill(steady::now() + timeout); s != status::ok) return s;
        auto take = static_cast<std::size_t>(
            std::min<std::uint64_t>(size, buffer_.size() - begin_));
        out(std::string_view(buffer_).substr(begin_, take));
        begin_ += take;
        size -= take;
    }
    return status::ok;
}

byte_stream::status byte_stream::read_line(std::string& line, steady::time_point deadline)
{
    for (;;) {
        auto end = buffer_.find("\r\n", begin_);
        if (end != std::string::npos) {
            line = buffer_.substr(begin_, end - begin_);
            begin_ = end + 2;
            return status::ok;
        }
        if (auto s = fill(deadline); s != status::ok) return s;
    }
}

byte_stream::status byte_stream::read_chunked(const sink& out, millis timeout)
{
    std::string line;
    for (;;) {
        if (auto s = read_line(line, steady::now() + timeout); s != status::ok) return s;
        auto digits = line.substr(0, line.find(';'));
        if (digits.empty() ||
            digits.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
            return status::malformed;
        auto size = std::stoull(digits, nullptr, 16);
        if (size == 0) break;
        if (auto s = read_exact(size, out, timeout); s != status::ok) return s;
        if (auto s = read_line(line, steady::now() + timeout); s != status::ok) return s;
        if (!line.empty()) return status::malformed;
    }
    do {  // trailers, up to the blank line
        if (auto s = read_line(line, steady::now() + timeout); s != status::ok) return s;
    } while (!line.empty());
    return status::ok;
}

byte_stream::status byte_stream::read_until_close(const sink& out, millis timeout)
{
    for (;;) {
        if (begin_ < buffer_.size()) {
            out(std::string_view(buffer_).substr(begin_));
            begin_ = buffer_.size();
        }
        if (auto s = fill(steady::now() + timeout); s != status::ok)
            return s == status::closed ? status::ok : s;
    }
}

std::string byte_stream::read_some(millis timeout)
{
    auto deadline = steady::now() + timeout;
    while (fill(deadline) == status::ok) {
    }
    std::string out = buffer_.substr(begin_);
    begin_ = buffer_.size();
    return out;
}

bool byte_stream::write_all(std::string_view bytes)
{
    while (ssl_ && !bytes.empty()) {
        const int n = SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size()));
        if (n > 0) {
            bytes.remove_prefix(static_cast<std::size_t>(n));
            continue;
        }
        const int err = SSL_get_error(ssl_, n);
        if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) return false;
        pollfd p{fd_, static_cast<short>(err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT), 0};
        ::poll(&p, 1, 5000);
    }
    while (!bytes.empty()) {
        auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

bool byte_stream::peer_closed()
{
    if (fd_ < 0) return true;
    char c;
    auto n = ::recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

bool byte_stream::wait_closed(millis timeout)
{
    auto deadline = steady::now() + timeout;
    for (;;) {
        begin_ = buffer_.size();
        auto s = fill(deadline);
        if (s == status::closed) return true;
        if (s == status::timeout) return false;
    }
}

}  // namespace sluice::test
