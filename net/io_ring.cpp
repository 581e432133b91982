#include "net/io_ring.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <liburing.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace sluice::net {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

// An operation in flight: its completion handler, type-erased, in the ring's list until it
// completes.
struct op {
    void (*complete)(op*, error_code, std::size_t);  // frees the op, then invokes the handler
    void (*destroy)(op*);                            // frees the op without invoking it
    op* prev = nullptr;
    op* next = nullptr;
};

template <class Handler>
struct typed_op : op {
    explicit typed_op(Handler&& h) : handler(std::move(h))
    {
        complete = &do_complete;
        destroy = &do_destroy;
    }

    static void do_complete(op* base, error_code ec, std::size_t n)
    {
        auto* self = static_cast<typed_op*>(base);
        Handler h = std::move(self->handler);
        delete self;
        std::move(h)(ec, n);
    }
    static void do_destroy(op* base) { delete static_cast<typed_op*>(base); }

    Handler handler;
};

constexpr unsigned ring_entries = 256;
// Refused before Linux 5.18: older rings are not worth their quirks here.
constexpr unsigned ring_flags = IORING_SETUP_SUBMIT_ALL;

// Whether a recv with MSG_DONTWAIT on an empty socket is answered within its submission, as the
// ring's callers rely on (nothing of theirs may wait inside the kernel, where no timeout would
// reach it). Asked of the kernel itself rather than inferred from its version.
bool answers_at_once(::io_uring& ring)
{
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) return false;
    static char unused;  // static: a kernel that did wait would still hold it after we return
    ::io_uring_sqe* sqe = ::io_uring_get_sqe(&ring);
    bool answered = false;
    if (sqe) {
        ::io_uring_prep_recv(sqe, fds[0], &unused, 1, MSG_DONTWAIT);
        ::io_uring_sqe_set_data(sqe, nullptr);
        ::io_uring_cqe* cqe = nullptr;
        if (::io_uring_submit(&ring) == 1 && ::io_uring_peek_cqe(&ring, &cqe) == 0) {
            answered = cqe->res == -EAGAIN;
            ::io_uring_cqe_seen(&ring, cqe);
        }
    }
    ::close(fds[0]);
    ::close(fds[1]);
    return answered;
}

}  // namespace

struct io_ring::ring {
    explicit ring(asio::io_context& io) : io(io), recheck(io) {}

    ~ring()
    {
        if (up) ::io_uring_queue_exit(&uring);
        // Sends queued when the event loop stopped for good: their coroutines go unresumed, as
        // Asio destroys the handlers of operations still pending at exit.
        while (in_flight) {
            op* o = in_flight;
            unlink(o);
            o->destroy(o);
        }
    }

    void link(op* o)
    {
        o->next = in_flight;
        if (in_flight) in_flight->prev = o;
        in_flight = o;
    }

    void unlink(op* o)
    {
        if (o->prev) o->prev->next = o->next;
        if (o->next) o->next->prev = o->prev;
        if (in_flight == o) in_flight = o->next;
    }

    // `prepare` fills the operation's submission entry.
    template <class Handler, class Prepare>
    void start(Handler&& h, Prepare prepare)
    {
        op* o = new typed_op<std::decay_t<Handler>>(std::move(h));
        link(o);
        ::io_uring_sqe* sqe = ::io_uring_get_sqe(&uring);
        if (!sqe) {  // a full submission queue: more operations this turn than it holds
            ::io_uring_submit(&uring);
            sqe = ::io_uring_get_sqe(&uring);
        }
        if (!sqe) {
            asio::post(io, [this, o] { finish(o, asio::error::no_buffer_space, 0); });
            return;
        }
        prepare(sqe);
        ::io_uring_sqe_set_data(sqe, o);
        if (!flush_posted) {
            flush_posted = true;
            asio::post(io, [this] { flush(); });
        }
    }

    void finish(op* o, error_code ec, std::size_t n)
    {
        unlink(o);
        o->complete(o, ec, n);
    }

    // Completes every operation the kernel has answered; their coroutines resume here, and what
    // they do next joins the submission queue.
    void reap()
    {
        ::io_uring_cqe* cqe = nullptr;
        while (::io_uring_peek_cqe(&uring, &cqe) == 0) {
            auto* o = static_cast<op*>(::io_uring_cqe_get_data(cqe));
            const int res = cqe->res;
            ::io_uring_cqe_seen(&uring, cqe);
            if (res >= 0)
                finish(o, {}, static_cast<std::size_t>(res));
            else if (res == -EAGAIN)
                finish(o, asio::error::would_block, 0);
            else
                finish(o, error_code(-res, asio::error::get_system_category()), 0);
        }
    }

    void flush()
    {
        flush_posted = true;  // what resumed coroutines start now goes in this flush's next round
        // Bounded: a kernel that keeps refusing the submission leaves the rest to the next turn.
        for (int round = 0; round < 64 && ::io_uring_sq_ready(&uring) > 0; ++round) {
            ::io_uring_submit(&uring);
            reap();
        }
        flush_posted = false;
        if (::io_uring_sq_ready(&uring) > 0) {
            flush_posted = true;
            asio::post(io, [this] { flush(); });
        }
        if (in_flight && !rechecking) recheck_stragglers();
    }

    // An operation the kernel answered after its submission returned (none should: each is one
    // non-blocking attempt) completes at the next flush or within a millisecond. Not by watching
    // the ring's descriptor in the event loop: every flush makes it readable, and that wakeup
    // would end each turn early, leaving a turn too few operations to batch.
    void recheck_stragglers()
    {
        rechecking = true;
        recheck.expires_after(std::chrono::milliseconds(1));
        recheck.async_wait([this](error_code ec) {
            rechecking = false;
            if (ec) return;
            reap();
            if (in_flight) recheck_stragglers();
        });
    }

    asio::io_context& io;
    ::io_uring uring{};
    asio::steady_timer recheck;
    op* in_flight = nullptr;
    bool up = false;  // io_uring_queue_init succeeded
    bool flush_posted = false;
    bool rechecking = false;
};

io_ring::io_ring(asio::io_context& io, bool wanted)
{
    if (!wanted) {
        why_off_ = "off in the configuration (io_uring: off)";
        return;
    }
    auto r = std::make_unique<ring>(io);
    if (const int rc = ::io_uring_queue_init(ring_entries, &r->uring, ring_flags); rc < 0) {
        why_off_ = std::string("the kernel refused an io_uring: ") + std::strerror(-rc);
        return;
    }
    r->up = true;
    ::io_uring_probe* probe = ::io_uring_get_probe_ring(&r->uring);
    const bool can_send = probe && ::io_uring_opcode_supported(probe, IORING_OP_SEND) &&
                          ::io_uring_opcode_supported(probe, IORING_OP_RECV);
    ::io_uring_free_probe(probe);
    if (!can_send) {
        why_off_ = "the kernel's io_uring has no send or recv operation";
        return;
    }
    if (!answers_at_once(r->uring)) {
        why_off_ = "the kernel's io_uring waits inside a non-blocking recv";
        return;
    }
    ring_ = std::move(r);
}

io_ring::~io_ring() = default;

namespace {

// Starts the operation `prepare` describes, with the coroutine's handler.
template <class Prepare>
struct initiate {
    io_ring::ring* r;
    Prepare prepare;

    template <class Handler>
    void operator()(Handler&& h) const
    {
        r->start(std::forward<Handler>(h), prepare);
    }
};

template <class Prepare>
awaitable<std::tuple<error_code, std::size_t>> start_op(io_ring::ring* r, Prepare prepare)
{
    auto token = asio::as_tuple(asio::use_awaitable_t<executor_type>{});
    return asio::async_initiate<decltype(token), void(error_code, std::size_t)>(
        initiate<Prepare>{r, prepare}, token);
}

}  // namespace

// One attempt each, never a wait inside the kernel (the header says why).
awaitable<std::tuple<error_code, std::size_t>> io_ring::send(int fd, asio::const_buffer data)
{
    return start_op(ring_.get(), [fd, data](::io_uring_sqe* sqe) {
        ::io_uring_prep_send(sqe, fd, data.data(), data.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    });
}

awaitable<std::tuple<error_code, std::size_t>> io_ring::recv(int fd, asio::mutable_buffer into)
{
    return start_op(ring_.get(), [fd, into](::io_uring_sqe* sqe) {
        ::io_uring_prep_recv(sqe, fd, into.data(), into.size(), MSG_DONTWAIT);
    });
}

void io_ring::flush()
{
    if (ring_) ring_->flush();
}

}  // namespace sluice::net
