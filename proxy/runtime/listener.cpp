#include "proxy/runtime/listener.hpp"

#include "net/accepted_socket.hpp"
#include "net/socket_address.hpp"
#include "proxy/log/event_log.hpp"
#include "proxy/runtime/worker.hpp"
#include "proxy/session/client_session.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace sluice::proxy {

namespace asio = boost::asio;
using net::acceptor_type;

struct listener::impl : connection_owner, std::enable_shared_from_this<impl> {
    impl(asio::io_context& io, const config::listener& cfg, std::vector<worker*> workers)
        : io(io), acceptor(io), retry(io), name_(cfg.name), bind_text(cfg.bind.text),
          max_connections(cfg.max_connections), workers(std::move(workers))
    {
    }

    void bind(const config::listener& cfg);
    void accept();
    void on_readable(boost::system::error_code ec);
    bool take_waiting_connections();
    void back_off();
    void on_closed() override;
    const std::string& name() const override { return name_; }
    asio::generic::stream_protocol socket_protocol() const override { return protocol; }

    asio::io_context& io;
    acceptor_type acceptor;
    asio::steady_timer retry;
    std::string name_;
    std::string bind_text;
    // Read once after bind: the admin thread asks for it while the accept thread may be closing
    // the acceptor.
    std::string local_address;
    asio::generic::stream_protocol protocol{AF_INET, 0};  // of the accepted sockets
    std::atomic<std::uint64_t> max_connections;
    std::vector<worker*> workers;
    std::size_t next_worker = 0;
    std::atomic<std::uint64_t> open{0};
    bool accepting = false;  // an accept is pending (accept thread only)
    bool stopped = false;
};

void listener::impl::bind(const config::listener& cfg)
{
    if (auto ec = net::listen_on(acceptor, cfg.bind))
        throw std::runtime_error("listeners." + cfg.name + ": cannot listen on " + cfg.bind.text +
                                 ": " + ec.message() +
                                 "; is another process using it, or is the address wrong?");
    boost::system::error_code ec;
    auto ep = acceptor.local_endpoint(ec);
    local_address = ec ? std::string("?") : net::describe(ep);
    protocol = asio::generic::stream_protocol(ep.protocol().family(), 0);
    // accept4 below must never block the accept thread when another process took the connection.
    acceptor.non_blocking(true, ec);
    if (ec)
        throw std::runtime_error("listeners." + cfg.name + ": cannot make the socket on " +
                                 cfg.bind.text + " non-blocking: " + ec.message());
    if (config::defers_accept(cfg)) {
        if (auto dec = net::defer_accept(acceptor, true))
            throw std::runtime_error("listeners." + cfg.name + ": cannot set defer_accept on " +
                                     cfg.bind.text + ": " + dec.message() +
                                     "; set defer_accept: false for this listener");
    }
}

// Waits for connections on the accept thread and hands each one to a worker as a bare file
// descriptor: the worker registers it with its own reactor, so a socket's reactor state is only
// ever touched by the thread that owns it (no cross-thread registration for ThreadSanitizer to
// doubt, and still one epoll_ctl per connection).
void listener::impl::accept()
{
    if (stopped || accepting || open.load() >= max_connections) return;
    accepting = true;
    acceptor.async_wait(acceptor_type::wait_read,
                        [self = shared_from_this()](boost::system::error_code ec) {
                            self->on_readable(ec);
                        });
}

void listener::impl::on_readable(boost::system::error_code ec)
{
    accepting = false;
    if (stopped) return;
    if (ec || !take_waiting_connections()) {
        back_off();
        return;
    }
    accept();
}

// Every connection the kernel has waiting, up to max_connections; false when accepting failed
// for a reason that will not pass at once (out of file descriptors and the like).
bool listener::impl::take_waiting_connections()
{
    while (open.load() < max_connections) {
        // The peer's address comes with the connection: no getpeername for it later.
        asio::generic::stream_protocol::endpoint peer;
        socklen_t peer_size = peer.capacity();
        const int fd = ::accept4(acceptor.native_handle(), peer.data(), &peer_size,
                                 SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
            if (errno == EINTR || errno == ECONNABORTED) continue;
            log_event(severity::warning,
                      "listener " + name_ + ": accept failed: " + std::strerror(errno));
            return false;
        }
        open.fetch_add(1);
        worker& target = *workers[next_worker++ % workers.size()];
        peer.resize(peer_size);
        asio::post(target.io, [self = shared_from_this(), &target, fd,
                               client_ip = net::host_of(peer)]() mutable {
            socket_type socket(target.io);
            boost::system::error_code ec;
            socket.assign(self->protocol, fd, ec);
            if (ec) {
                ::close(fd);
                self->on_closed();
                return;
            }
            net::adopt_accepted(socket);
            start_client_session(target, std::move(socket), self, std::move(client_ip));
        });
    }
    return true;
}

// Backs off instead of spinning on an error that will be there again at once.
void listener::impl::back_off()
{
    retry.expires_after(std::chrono::milliseconds(100));
    retry.async_wait([self = shared_from_this()](boost::system::error_code) { self->accept(); });
}

void listener::impl::on_closed()
{
    if (open.fetch_sub(1) >= max_connections.load())
        asio::post(io, [self = shared_from_this()] { self->accept(); });
}

listener::listener(asio::io_context& accept_io, const config::listener& cfg,
                   std::vector<worker*> workers)
    : impl_(std::make_shared<impl>(accept_io, cfg, std::move(workers)))
{
    impl_->bind(cfg);
}

listener::~listener() { stop(); }

void listener::start()
{
    asio::post(impl_->io, [self = impl_] { self->accept(); });
}

void listener::stop()
{
    asio::post(impl_->io, [self = impl_] {
        self->stopped = true;
        boost::system::error_code ignored;
        self->acceptor.close(ignored);
        self->retry.cancel();
    });
}

std::string listener::local_address() const { return impl_->local_address; }

std::uint64_t listener::open_connections() const { return impl_->open.load(); }

bool listener::at_limit() const { return impl_->open.load() >= impl_->max_connections.load(); }

void listener::update(const config::listener& cfg)
{
    impl_->max_connections.store(cfg.max_connections);
    const bool tcp = cfg.bind.type == config::endpoint::kind::tcp;
    asio::post(impl_->io, [self = impl_, tcp, defer = config::defers_accept(cfg), name = cfg.name] {
        // The socket stays; the kernel applies the option to connections that arrive from now on.
        if (tcp) {
            if (auto ec = net::defer_accept(self->acceptor, defer))
                log_event(severity::warning,
                          "listener " + name + ": defer_accept not changed: " + ec.message());
        }
        self->accept();  // the limit may have risen
    });
}

const std::string& listener::bind_text() const { return impl_->bind_text; }

}  // namespace sluice::proxy
