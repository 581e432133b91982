#include "proxy/runtime/listener.hpp"

#include "net/socket_address.hpp"
#include "proxy/session/client_session.hpp"
#include "proxy/log/event_log.hpp"
#include "proxy/runtime/worker.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
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
    void on_accepted(boost::system::error_code ec, socket_type socket, worker& target);
    void on_closed() override;
    const std::string& name() const override { return name_; }

    asio::io_context& io;
    acceptor_type acceptor;
    asio::steady_timer retry;
    std::string name_;
    std::string bind_text;
    // Read once after bind: the admin thread asks for it while the accept thread may be closing
    // the acceptor.
    std::string local_address;
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
}

void listener::impl::accept()
{
    if (stopped || accepting || open.load() >= max_connections)
        return;
    accepting = true;
    worker& target = *workers[next_worker++ % workers.size()];
    // The accepted socket is registered with the target's reactor here, on the accept thread;
    // every use of it happens on the target's thread, after the post below. The target's epoll
    // can report it before that post runs, but only after the registration's epoll_ctl, whose
    // kernel locks order it (ThreadSanitizer cannot see that and reports the pair).
    acceptor.async_accept(target.io, [self = shared_from_this(), &target](
                                         boost::system::error_code ec, socket_type socket) {
        self->on_accepted(ec, std::move(socket), target);
    });
}

void listener::impl::on_accepted(boost::system::error_code ec, socket_type socket,
                                 worker& target)
{
    accepting = false;
    if (stopped)
        return;
    if (ec) {
        // Out of file descriptors and the like: back off instead of spinning.
        log_event(severity::warning, "listener " + name_ + ": accept failed: " + ec.message());
        retry.expires_after(std::chrono::milliseconds(100));
        retry.async_wait([self = shared_from_this()](boost::system::error_code) {
            self->accept();
        });
        return;
    }
    open.fetch_add(1);
    asio::post(target.io, [self = shared_from_this(), &target, s = std::move(socket)]() mutable {
        start_client_session(target, std::move(s), self);
    });
    accept();
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
    asio::post(impl_->io, [self = impl_] { self->accept(); });  // the limit may have risen
}

const std::string& listener::bind_text() const { return impl_->bind_text; }

}  // namespace sluice::proxy
