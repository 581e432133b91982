#include "proxy/runtime/idle_set.hpp"

#include <array>
#include <cerrno>
#include <stdexcept>
#include <system_error>

#include <sys/epoll.h>
#include <unistd.h>

namespace sluice::proxy {

namespace {

int new_epoll_set()
{
    const int fd = ::epoll_create1(EPOLL_CLOEXEC);
    if (fd < 0)
        throw std::system_error(errno, std::generic_category(),
                                "cannot create the epoll set for idle connections");
    return fd;
}

}  // namespace

idle_set::idle_set(boost::asio::io_context& io, wake_fn wake)
    : set_(new_epoll_set()), watch_(io), wake_(wake)
{
    boost::system::error_code ec;
    watch_.assign(set_, ec);
    if (ec) {
        ::close(set_);
        throw std::system_error(ec, "cannot watch the epoll set for idle connections");
    }
    wait();
}

// watch_ closes the set; any socket still in it was shut by deadline_sweeper::close_all and
// woken before the worker's loop stopped (worker::shut_down).
idle_set::~idle_set() = default;

bool idle_set::add(int fd, void* entry, bool again)
{
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
    ev.data.ptr = entry;
    if (::epoll_ctl(set_, again ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) == 0) return true;
    // The set knew better than the caller (closing a socket takes it out, whatever its number):
    // the other operation then does.
    if (errno != (again ? ENOENT : EEXIST)) return false;
    return ::epoll_ctl(set_, again ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev) == 0;
}

void idle_set::wait()
{
    watch_.async_wait(boost::asio::posix::descriptor_base::wait_read,
                      [this](boost::system::error_code ec) {
                          if (ec) return;  // closed: the worker is going away
                          wake_ready();
                          wait();
                      });
}

// Asio watches the set edge-triggered, so take every ready socket before waiting again: a batch
// that fills the array may have left more.
void idle_set::wake_ready()
{
    std::array<epoll_event, 64> ready;
    int n = 0;
    do {
        n = ::epoll_wait(set_, ready.data(), static_cast<int>(ready.size()), 0);
        for (int i = 0; i < n; ++i) wake_(ready[static_cast<std::size_t>(i)].data.ptr);
    } while (n == static_cast<int>(ready.size()));
}

}  // namespace sluice::proxy
