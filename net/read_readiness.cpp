#include "net/read_readiness.hpp"

#include "net/socket_internals.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdint>

#include <sys/epoll.h>

namespace sluice::net {

namespace asio = boost::asio;

// Only where the reactor is known (socket_internals.hpp). Elsewhere every read goes the
// reactor's own way (a recv at once), as before this file.
#ifdef SLUICE_REACTIVE_SOCKETS

namespace {

using reactor = asio::detail::epoll_reactor;
using descriptor_state = reactor::descriptor_state;
using operation = asio::detail::scheduler_operation;

// The reactor keeps what this file needs private. An explicit instantiation may name a private
// member ([temp.spec.general]), so each `expose` below hands out a pointer to one; the socket's
// reactor state comes through socket_internals.hpp.
template <class Tag, typename Tag::type Member>
struct expose {
    friend typename Tag::type member(Tag) { return Member; }
};
struct try_speculative {
    using type = bool (descriptor_state::*)[reactor::max_ops];
    friend type member(try_speculative);
};
template struct expose<try_speculative, &descriptor_state::try_speculative_>;
struct registered_events {
    using type = std::uint32_t descriptor_state::*;
    friend type member(registered_events);
};
template struct expose<registered_events, &descriptor_state::registered_events_>;
struct reactor_of {
    using type = reactor* descriptor_state::*;
    friend type member(reactor_of);
};
template struct expose<reactor_of, &descriptor_state::reactor_>;
struct epoll_fd {
    using type = int reactor::*;
    friend type member(epoll_fd);
};
template struct expose<epoll_fd, &reactor::epoll_fd_>;
struct last_events {
    using type = unsigned operation::*;
    friend type member(last_events);
};
template struct expose<last_events, &operation::task_result_>;

descriptor_state* state_of(socket_type& s)
{
    return internals::socket_access::implementation(s).reactor_data_;
}

bool& may_have_bytes(descriptor_state& d)
{
    return (d.*member(try_speculative{}))[reactor::read_op];
}

}  // namespace

std::size_t read_arrived(socket_type& s, asio::mutable_buffer into, boost::system::error_code& ec)
{
    auto* d = state_of(s);
    // A blocking socket would block here; the reactor reads it as it always does.
    if (!d || !may_have_bytes(*d) || !s.non_blocking()) {
        ec = asio::error::would_block;
        return 0;
    }
    const auto n = s.read_some(into, ec);
    // EAGAIN is proof of an empty socket even after the peer's shutdown, which reads as 0.
    if (ec == asio::error::would_block) may_have_bytes(*d) = false;
    return n;
}

bool may_have_bytes(socket_type& s)
{
    auto* d = state_of(s);
    return !d || may_have_bytes(*d);
}

void saw_empty(socket_type& s)
{
    if (auto* d = state_of(s)) may_have_bytes(*d) = false;
}

namespace {

// reactive_descriptor_service::async_wait's steps, but letting the reactor complete the wait at
// once when its flag says bytes may be there, and otherwise queue it without an epoll_ctl.
struct initiate_wait {
    socket_type* s;

    template <class Handler>
    void operator()(Handler&& handler) const
    {
        using op = asio::detail::reactive_wait_op<std::decay_t<Handler>, executor_type>;
        typename op::ptr p = {asio::detail::addressof(handler), op::ptr::allocate(handler), 0};
        p.p = new (p.v) op(boost::system::error_code(), handler, s->get_executor());
        auto& impl = internals::socket_access::implementation(*s);
        asio::use_service<reactor>(s->get_executor().context())
            .start_op(reactor::read_op, impl.socket_, impl.reactor_data_, p.p, false, true);
        p.v = p.p = 0;
    }
};

}  // namespace

awaitable<std::tuple<boost::system::error_code>> wait_readable(socket_type& s)
{
    auto token = asio::as_tuple(asio::use_awaitable_t<executor_type>{});
    return asio::async_initiate<decltype(token), void(boost::system::error_code)>(initiate_wait{&s},
                                                                                  token);
}

void note_message_end(socket_type& s, bool emptied)
{
    auto* d = state_of(s);
    // A blocking socket's read began with the reactor's own recv, whose result may have waited
    // in the handler queue while the event loop polled: too late to trust.
    if (!emptied || !d || !(d->*member(registered_events{}) & EPOLLRDHUP) || !s.non_blocking())
        return;
    // The events of the socket's last wake-up: those before the short read. A shutdown after
    // it brings another event, which sets the flag again.
    // A C-style cast: the only one that converts to a private base.
    const auto last = ((operation*)d)->*member(last_events{});
    if (last & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) return;
    may_have_bytes(*d) = false;
}

void watch_peer_shutdown(socket_type& s)
{
    auto* d = state_of(s);
    if (!d) return;
    auto& registered = d->*member(registered_events{});
    if (registered & EPOLLRDHUP) return;
    epoll_event ev{};
    ev.events = registered | EPOLLRDHUP;
    ev.data.ptr = d;
    const int epoll = (d->*member(reactor_of{}))->*member(epoll_fd{});
    if (::epoll_ctl(epoll, EPOLL_CTL_MOD, s.native_handle(), &ev) == 0) registered = ev.events;
}

#else

std::size_t read_arrived(socket_type&, asio::mutable_buffer, boost::system::error_code& ec)
{
    ec = asio::error::would_block;
    return 0;
}

bool may_have_bytes(socket_type&) { return true; }

awaitable<std::tuple<boost::system::error_code>> wait_readable(socket_type& s)
{
    return s.async_wait(socket_type::wait_read,
                        asio::as_tuple(asio::use_awaitable_t<executor_type>{}));
}

void saw_empty(socket_type&) {}
void note_message_end(socket_type&, bool) {}
void watch_peer_shutdown(socket_type&) {}

#endif

}  // namespace sluice::net
