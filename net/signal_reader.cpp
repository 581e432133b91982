#include "net/signal_reader.hpp"

#include "net/thread_signals.hpp"

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

namespace sluice::net {

namespace {

int open_signalfd(std::span<const int> signals, sigset_t& saved_mask)
{
    const auto set = signal_set_of(signals);
    pthread_sigmask(SIG_BLOCK, &set, &saved_mask);
    const int fd = ::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0)
        throw std::runtime_error(std::string("cannot read signals (signalfd): ") +
                                 std::strerror(errno));
    return fd;
}

}  // namespace

signal_reader::signal_reader(boost::asio::io_context& io, std::span<const int> signals)
    : fd_(io, open_signalfd(signals, saved_mask_))
{
}

template <class F>
void signal_reader::read_waiting(F&& each)
{
    signalfd_siginfo info;
    while (::read(fd_.native_handle(), &info, sizeof info) == static_cast<ssize_t>(sizeof info))
        each(static_cast<int>(info.ssi_signo));
}

signal_reader::~signal_reader()
{
    read_waiting([](int) {});
    boost::system::error_code ignored;
    fd_.close(ignored);
    pthread_sigmask(SIG_SETMASK, &saved_mask_, nullptr);
}

void signal_reader::start(std::function<void(int)> on_signal)
{
    on_signal_ = std::move(on_signal);
    read_next();
}

void signal_reader::read_next()
{
    fd_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                   [this](boost::system::error_code ec) {
                       if (ec) return;  // the loop is ending
                       read_waiting(on_signal_);
                       read_next();
                   });
}

}  // namespace sluice::net
