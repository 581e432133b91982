#include "support/uwsgi_backend.hpp"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <charconv>
#include <cstring>
#include <stdexcept>

// Threads: one acceptor, one thread per connection, which serves a single request (uWSGI closes
// after each response). A connection's fd is closed by its own thread under mutex_, so the
// destructor can shut down every open fd without racing a reuse of the number.

namespace sluice::test {

namespace {

constexpr std::size_t kept_body = 1 << 20;
constexpr millis read_timeout = 10s;

unsigned byte_at(std::string_view bytes, std::size_t at)
{
    return static_cast<unsigned char>(bytes[at]);
}

unsigned le16_at(std::string_view bytes, std::size_t at)
{
    return byte_at(bytes, at) | byte_at(bytes, at + 1) << 8;
}

// Binds 127.0.0.1:0 or `unix_path` and returns the listening fd; `port` gets the TCP port.
int open_listener(const std::string& unix_path, std::uint16_t& port)
{
    sockaddr_storage storage{};
    socklen_t size = unix_path.empty() ? sizeof(sockaddr_in) : sizeof(sockaddr_un);
    if (unix_path.empty()) {
        auto& in = reinterpret_cast<sockaddr_in&>(storage);
        in.sin_family = AF_INET;
        in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    } else {
        auto& un = reinterpret_cast<sockaddr_un&>(storage);
        un.sun_family = AF_UNIX;
        std::strncpy(un.sun_path, unix_path.c_str(), sizeof un.sun_path - 1);
        ::unlink(unix_path.c_str());  // left over from an earlier run
    }
    int fd = ::socket(storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    auto* address = reinterpret_cast<sockaddr*>(&storage);
    if (fd < 0 || ::bind(fd, address, size) != 0 || ::listen(fd, 256) != 0 ||
        ::getsockname(fd, address, &size) != 0) {
        auto why = std::string(std::strerror(errno));
        if (fd >= 0) ::close(fd);
        throw std::runtime_error("uwsgi_backend: cannot listen: " + why);
    }
    if (unix_path.empty()) port = ntohs(reinterpret_cast<sockaddr_in&>(storage).sin_port);
    return fd;
}

}  // namespace

std::string uwsgi_echo_reply(const uwsgi_request& request)
{
    return "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n" +
           request.vars.value("REQUEST_METHOD") + " " + request.vars.value("PATH_INFO") + "\n" +
           request.body;
}

std::optional<header_list> parse_uwsgi_vars(std::string_view block)
{
    header_list vars;
    std::size_t at = 0;
    auto take = [&](std::string& out) {
        if (block.size() - at < 2 || block.size() - at - 2 < le16_at(block, at)) return false;
        out = std::string(block.substr(at + 2, le16_at(block, at)));
        at += 2 + out.size();
        return true;
    };
    while (at < block.size()) {
        std::string key, value;
        if (!take(key) || !take(value)) return std::nullopt;
        vars.add(std::move(key), std::move(value));
    }
    return vars;
}

uwsgi_backend::uwsgi_backend(uwsgi_backend_options options) : options_(std::move(options))
{
    listen_fd_ = open_listener(options_.unix_path, port_);
    acceptor_ = std::thread([this] { accept_loop(); });
}

uwsgi_backend::~uwsgi_backend()
{
    stopping_ = true;
    acceptor_.join();
    {
        std::lock_guard lock{mutex_};
        for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
    }
    for (auto& t : connections_) t.join();  // only the acceptor, now gone, appended to it
    ::close(listen_fd_);
    if (!options_.unix_path.empty()) ::unlink(options_.unix_path.c_str());
}

std::string uwsgi_backend::address() const
{
    if (!options_.unix_path.empty()) return "unix:" + options_.unix_path;
    return "127.0.0.1:" + std::to_string(port_);
}

std::vector<uwsgi_request> uwsgi_backend::requests() const
{
    std::lock_guard lock{mutex_};
    return requests_;
}

std::size_t uwsgi_backend::request_count() const
{
    std::lock_guard lock{mutex_};
    return requests_.size();
}

bool uwsgi_backend::wait_for_requests(std::size_t count, millis timeout) const
{
    for (auto deadline = std::chrono::steady_clock::now() + timeout; request_count() < count;) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(5ms);
    }
    return true;
}

void uwsgi_backend::accept_loop()
{
    while (!stopping_) {
        pollfd ready{listen_fd_, POLLIN, 0};
        if (::poll(&ready, 1, 20) != 1) continue;
        int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) continue;
        ++accepted_;
        std::lock_guard lock{mutex_};
        open_fds_.push_back(fd);
        connections_.emplace_back([this, fd] {
            serve(fd);
            std::lock_guard closing{mutex_};
            std::erase(open_fds_, fd);
            ::close(fd);
        });
    }
}

void uwsgi_backend::serve(int fd)
{
    byte_stream stream{::dup(fd)};  // the connection thread closes `fd` itself; see the top
    auto request = read_request(stream);
    if (!request) return;
    auto until = std::chrono::steady_clock::now() + options_.reply_after;
    while (!stopping_ && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(5ms);
    stream.write_all(options_.handler ? options_.handler(*request) : uwsgi_echo_reply(*request));
}

// The request when the whole packet and body arrived; it is recorded either way.
std::optional<uwsgi_request> uwsgi_backend::read_request(byte_stream& stream)
{
    std::string head, block;
    auto append_to = [](std::string& s) { return [&s](std::string_view piece) { s += piece; }; };
    if (stream.read_exact(4, append_to(head), read_timeout) != byte_stream::status::ok) return {};
    if (byte_at(head, 0) != 0) {
        ++malformed_;
        return {};
    }
    auto got_block = stream.read_exact(le16_at(head, 1), append_to(block), read_timeout);
    if (got_block != byte_stream::status::ok) return {};
    uwsgi_request r;
    r.modifier2 = byte_at(head, 3);
    auto vars = parse_uwsgi_vars(block);
    r.vars_well_formed = vars.has_value();
    if (vars) r.vars = std::move(*vars);
    auto length_text = r.vars.value("CONTENT_LENGTH");
    std::uint64_t length = 0;
    std::from_chars(length_text.data(), length_text.data() + length_text.size(), length);
    auto got_body = stream.read_exact(
        length,
        [&](std::string_view piece) {
            r.body_size += piece.size();
            r.body.append(piece.substr(0, kept_body - std::min(kept_body, r.body.size())));
        },
        read_timeout);
    {
        std::lock_guard lock{mutex_};
        r.order = requests_.size();
        requests_.push_back(r);
    }
    if (got_body != byte_stream::status::ok) return {};
    return r;
}

}  // namespace sluice::test
