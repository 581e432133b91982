#include "support/scripted_backend.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>
#include <utility>

// Threads: one acceptor, one thread per connection (at most max_open at once; beyond that the
// acceptor waits and connections stay in the kernel backlog). A connection's fd is closed by its
// own thread under mutex_, so the destructor can shut down every open fd without racing a reuse.

namespace sluice::test {

namespace {

constexpr std::size_t max_open = 256;
constexpr std::size_t kept_body = 1 << 20;
constexpr auto slice = 5ms;

std::string reason_for(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Status";
    }
}

std::string chunk_line(std::size_t size)
{
    char hex[32];
    std::snprintf(hex, sizeof hex, "%zx\r\n", size);
    return hex;
}

int listen_on(const backend_options& options, std::uint16_t& port)
{
    const auto& unix_path = options.unix_path;
    int fd = ::socket(unix_path.empty() ? AF_INET : AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    int rc;
    if (unix_path.empty()) {
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(options.port);
        rc = ::inet_pton(AF_INET, options.host.c_str(), &addr.sin_addr) == 1 ? 0 : -1;
        if (rc == 0) rc = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
        socklen_t len = sizeof addr;
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
        port = ntohs(addr.sin_port);
    } else {
        ::unlink(unix_path.c_str());
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, unix_path.c_str(), sizeof addr.sun_path - 1);
        rc = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    }
    if (rc != 0 || ::listen(fd, 512) != 0) {
        ::close(fd);
        throw std::runtime_error("scripted_backend: cannot listen: " +
                                 std::string(strerror(errno)));
    }
    return fd;
}

}  // namespace

struct scripted_backend::connection_slot {
    int fd = -1;
    std::atomic<bool> done{false};
    std::thread thread;
};

scripted_backend::scripted_backend(backend_options options) : options_(std::move(options))
{
    listen_fd_ = listen_on(options_, port_);
    acceptor_ = std::thread([this] { accept_loop(); });
}

scripted_backend::~scripted_backend()
{
    stopping_ = true;
    acceptor_.join();
    {
        std::lock_guard lock{mutex_};
        for (auto& c : connections_)
            if (c->fd >= 0) ::shutdown(c->fd, SHUT_RDWR);
    }
    worker_freed_.notify_all();
    for (auto& c : connections_) c->thread.join();
    ::close(listen_fd_);
    if (!options_.unix_path.empty()) ::unlink(options_.unix_path.c_str());
}

std::string scripted_backend::address() const
{
    return options_.unix_path.empty() ? options_.host + ":" + std::to_string(port_)
                                      : "unix:" + options_.unix_path;
}

std::vector<recorded_request> scripted_backend::requests() const
{
    std::lock_guard lock{mutex_};
    return requests_;
}

std::size_t scripted_backend::request_count() const
{
    std::lock_guard lock{mutex_};
    return requests_.size();
}

bool scripted_backend::wait_for_requests(std::size_t count, millis timeout) const
{
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (request_count() < count) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(slice);
    }
    return true;
}

void scripted_backend::reap_finished()
{
    std::lock_guard lock{mutex_};
    for (auto it = connections_.begin(); it != connections_.end();) {
        if ((*it)->done) {
            (*it)->thread.join();
            it = connections_.erase(it);
        } else {
            ++it;
        }
    }
}

void scripted_backend::accept_loop()
{
    while (!stopping_) {
        reap_finished();
        pollfd p{listen_fd_, POLLIN, 0};
        if (open_ >= max_open || ::poll(&p, 1, 20) != 1) {
            if (open_ >= max_open) std::this_thread::sleep_for(slice);
            continue;
        }
        int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) continue;
        int one = 1;
        if (options_.unix_path.empty())
            ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        auto id = accepted_++;
        ++open_;
        std::lock_guard lock{mutex_};
        auto& slot = connections_.emplace_back(std::make_unique<connection_slot>());
        slot->fd = fd;
        slot->thread = std::thread([this, id, fd, s = slot.get()] {
            serve(id, fd);
            std::lock_guard done_lock{mutex_};
            ::close(fd);
            s->fd = -1;
            s->done = true;
            --open_;
        });
    }
}

void scripted_backend::serve(std::size_t id, int fd)
{
    byte_stream stream{dup(fd)};  // the slot closes `fd` itself; see the note at the top
    for (bool first = true; !stopping_ && serve_one(id, stream, first); first = false) {
    }
}

bool scripted_backend::acquire_worker()
{
    std::unique_lock lock{mutex_};
    worker_freed_.wait(lock, [&] { return stopping_ || busy_workers_ < options_.workers; });
    if (stopping_) return false;
    ++busy_workers_;
    return true;
}

void scripted_backend::release_worker()
{
    {
        std::lock_guard lock{mutex_};
        --busy_workers_;
    }
    worker_freed_.notify_one();
}

// Returns whether the connection stays open for another request.
bool scripted_backend::serve_one(std::size_t id, byte_stream& stream, bool first)
{
    auto idle = options_.keepalive_timeout > 0ms ? options_.keepalive_timeout : millis{10s};
    std::string head;
    if (stream.read_head(head, first ? std::max(idle, millis{10s}) : idle) !=
        byte_stream::status::ok)
        return false;
    auto parsed = parse_head(head);
    if (!parsed) return false;
    recorded_request r;
    auto& line = parsed->first_line;
    auto sp1 = line.find(' '), sp2 = line.rfind(' ');
    r.method = line.substr(0, sp1);
    r.target = sp2 > sp1 ? line.substr(sp1 + 1, sp2 - sp1 - 1) : "";
    r.headers = std::move(parsed->headers);
    r.connection = id;
    std::size_t index;
    {
        std::lock_guard lock{mutex_};
        r.order = index = requests_.size();
        requests_.push_back(r);
    }
    if (options_.raw_reply) {
        std::this_thread::sleep_for(options_.reply_after);  // a worker busy, then killed
        stream.write_all(*options_.raw_reply);
        return false;
    }
    unsigned now = ++current_;
    for (unsigned seen = max_concurrent_;
         now > seen && !max_concurrent_.compare_exchange_weak(seen, now);) {
    }
    // Ends when the reply starts: a proxy that has read it whole may send the next request
    // before this thread has returned, and counting both would be an overlap the proxy never had.
    struct in_flight_guard {
        std::atomic<unsigned>& c;
        bool counted = true;
        void end()
        {
            if (std::exchange(counted, false)) --c;
        }
        ~in_flight_guard() { end(); }
    } guard{current_};

    if (iequals(r.headers.value("Expect"), "100-continue"))
        stream.write_all("HTTP/1.1 100 Continue\r\n\r\n");
    pattern_checker checker;
    auto sink = [&](std::string_view piece) {
        checker.feed(piece);
        if (r.body.size() < kept_body) r.body.append(piece.substr(0, kept_body - r.body.size()));
    };
    auto s = byte_stream::status::ok;
    if (iequals(r.headers.value("Transfer-Encoding"), "chunked"))
        s = stream.read_chunked(sink, 10s);
    else if (auto length = r.headers.get("Content-Length"))
        s = stream.read_exact(std::stoull(*length), sink, 10s);
    r.body_size = checker.size();
    r.body_matches_pattern = checker.ok();
    {
        std::lock_guard lock{mutex_};
        requests_[index].body = r.body;
        requests_[index].body_size = r.body_size;
        requests_[index].body_matches_pattern = r.body_matches_pattern;
    }
    if (s != byte_stream::status::ok || !acquire_worker()) return false;
    wait_before_reply(stream);
    bool sent = false;
    if (!stream.peer_closed()) {
        auto answer = options_.handler ? options_.handler(r) : default_reply(r);
        guard.end();
        sent = !answer.silent_close && send_reply(stream, r, answer) && !answer.close;
    } else {
        ++abandoned_;
    }
    release_worker();
    bool close_requested = iequals(r.headers.value("Connection"), "close");
    return sent && !close_requested && options_.keepalive_timeout > 0ms;
}

void scripted_backend::wait_before_reply(byte_stream& stream)
{
    auto until = std::chrono::steady_clock::now() + options_.reply_after;
    while (!stopping_ && std::chrono::steady_clock::now() < until && !stream.peer_closed())
        std::this_thread::sleep_for(slice);
}

reply scripted_backend::default_reply(const recorded_request&) const
{
    reply out;
    out.body = options_.body;
    out.generated_size = options_.response_size;
    out.chunked = options_.chunked;
    out.headers.add("X-Served-By", options_.name);
    return out;
}

bool scripted_backend::send_reply(byte_stream& stream, const recorded_request& request,
                                  const reply& answer)
{
    bool bodiless = answer.status == 204 || answer.status == 304 || answer.status < 200;
    bool head_only = bodiless || request.method == "HEAD";
    std::uint64_t size = answer.generated_size > 0 ? answer.generated_size : answer.body.size();
    std::string head = "HTTP/1.1 " + std::to_string(answer.status) + " " +
                       (answer.reason.empty() ? reason_for(answer.status) : answer.reason) +
                       "\r\n" + answer.headers.serialize();
    if (!bodiless)
        head += answer.chunked ? "Transfer-Encoding: chunked\r\n"
                               : "Content-Length: " + std::to_string(size) + "\r\n";
    bool closing = answer.close || options_.keepalive_timeout == 0ms;
    if (closing && !answer.echo) head += "Connection: close\r\n";
    // A small reply leaves in one write, as a real server's would: tests that count what the
    // proxy sends must not depend on how the scheduler split the backend's writes.
    std::string out = head + "\r\n";
    for (std::uint64_t sent = 0; !head_only && sent < size;) {
        auto n = static_cast<std::size_t>(std::min<std::uint64_t>(64 * 1024, size - sent));
        auto piece = answer.generated_size > 0 ? pattern_bytes(sent, n)
                                               : answer.body.substr(sent, n);
        out += answer.chunked ? chunk_line(n) + piece + "\r\n" : piece;
        sent += n;
        if (out.size() >= 64 * 1024) {
            if (!stream.write_all(out)) return false;
            out.clear();
        }
    }
    if (!head_only && answer.chunked) out += "0\r\n\r\n";
    out += answer.trailing;
    if (!stream.write_all(out)) return false;
    if (!answer.late.empty()) {
        std::this_thread::sleep_for(answer.late_after);
        if (!stream.write_all(answer.late)) return false;
        ++late_sent_;
    }
    if (!answer.echo) return true;
    while (!stopping_) {
        auto bytes = stream.read_some(50ms);
        if (!bytes.empty() && !stream.write_all(bytes)) break;
        if (bytes.empty() && stream.peer_closed()) break;
    }
    return false;
}

}  // namespace sluice::test
