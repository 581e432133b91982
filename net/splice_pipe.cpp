#include "net/splice_pipe.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <utility>

namespace sluice::net {

namespace {

// 64 pages: a 1 MiB body moves in 4 round trips of the pipe rather than 16. The pages in a pipe
// are the sockets' own, referenced rather than allocated; a larger size costs only its page
// table, and the user's pipe-user-pages-soft (64 MiB by default) allows 256 such pipes.
constexpr int wanted_capacity = 256 * 1024;
// Enough for the relays of one busy worker; a burst beyond it makes and closes pipes.
constexpr std::size_t spare_limit = 16;

// One non-blocking splice(2) from `in` to `out`: the bytes moved, or 0 with `ec` set (EAGAIN
// compares equal to asio::error::would_block).
std::size_t splice_once(int in, int out, std::size_t max, boost::system::error_code& ec)
{
    const auto n = ::splice(in, nullptr, out, nullptr, max, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n < 0) {
        ec.assign(errno, boost::system::system_category());
        return 0;
    }
    ec = {};
    return static_cast<std::size_t>(n);
}

splice_pipe make_pipe()
{
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return {};
    int capacity = ::fcntl(fds[1], F_SETPIPE_SZ, wanted_capacity);
    if (capacity < 0) capacity = ::fcntl(fds[1], F_GETPIPE_SZ);
    return {fds[0], fds[1], static_cast<std::size_t>(capacity > 0 ? capacity : 65536)};
}

// Whether this kernel, and any seccomp profile around it, lets a socket's bytes into a pipe:
// one byte over a socket pair.
std::string splice_refused()
{
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0)
        return std::string("no socket pair to try splice(2) on: ") + std::strerror(errno);
    auto p = make_pipe();
    std::string why;
    boost::system::error_code ec;
    if (!p.valid())
        why = std::string("no pipe: ") + std::strerror(errno);
    else if (::send(fds[0], "x", 1, MSG_NOSIGNAL) != 1 || p.fill(fds[1], 1, ec) != 1)
        why = "splice(2) refused: " + ec.message();
    ::close(fds[0]);
    ::close(fds[1]);
    return why;
}

}  // namespace

splice_pipe::splice_pipe(int read_end, int write_end, std::size_t capacity)
    : read_end_(read_end), write_end_(write_end), capacity_(capacity)
{
}

splice_pipe::splice_pipe(splice_pipe&& other) noexcept
    : read_end_(std::exchange(other.read_end_, -1)),
      write_end_(std::exchange(other.write_end_, -1)), capacity_(other.capacity_),
      held_(std::exchange(other.held_, 0))
{
}

splice_pipe& splice_pipe::operator=(splice_pipe&& other) noexcept
{
    if (this != &other) {
        close();
        read_end_ = std::exchange(other.read_end_, -1);
        write_end_ = std::exchange(other.write_end_, -1);
        capacity_ = other.capacity_;
        held_ = std::exchange(other.held_, 0);
    }
    return *this;
}

splice_pipe::~splice_pipe() { close(); }

void splice_pipe::close()
{
    if (read_end_ >= 0) ::close(read_end_);
    if (write_end_ >= 0) ::close(write_end_);
    read_end_ = write_end_ = -1;
}

std::size_t splice_pipe::fill(int from, std::size_t max, boost::system::error_code& ec)
{
    const auto n = splice_once(from, write_end_, max, ec);
    held_ += n;
    return n;
}

std::size_t splice_pipe::drain(int to, std::size_t max, boost::system::error_code& ec)
{
    const auto n = splice_once(read_end_, to, max, ec);
    held_ -= n;
    return n;
}

std::size_t splice_pipe::copy_out(char* into, std::size_t max, boost::system::error_code& ec)
{
    const auto n = ::read(read_end_, into, max);
    if (n < 0) {
        ec.assign(errno, boost::system::system_category());
        return 0;
    }
    ec = {};
    held_ -= static_cast<std::size_t>(n);
    return static_cast<std::size_t>(n);
}

pipe_pool::pipe_pool(bool wanted)
{
    if (!wanted) {
        why_off_ = "off in the configuration";
        return;
    }
    // A splice into a socket whose peer has gone raises SIGPIPE, and splice(2) has no
    // MSG_NOSIGNAL: the proxy must ignore the signal, as HAProxy and NGINX do.
    std::signal(SIGPIPE, SIG_IGN);
    why_off_ = splice_refused();
}

splice_pipe pipe_pool::take()
{
    if (spare_.empty()) return make_pipe();
    auto p = std::move(spare_.back());
    spare_.pop_back();
    return p;
}

void pipe_pool::give_back(splice_pipe p)
{
    if (p.valid() && p.held() == 0 && spare_.size() < spare_limit) spare_.push_back(std::move(p));
}

}  // namespace sluice::net
