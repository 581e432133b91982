#include "proxy/runtime/deadline_sweeper.hpp"

namespace sluice::proxy {

deadline::deadline(deadline_sweeper& sweeper, socket_type& socket) : socket_(socket)
{
    sweeper.deadlines_.push_back(*this);
}

deadline_sweeper::deadline_sweeper(boost::asio::io_context& io, clock::duration tick)
    : timer_(io), tick_(tick)
{
}

void deadline_sweeper::start() { schedule(); }

void deadline_sweeper::stop()
{
    stopped_ = true;
    timer_.cancel();
}

void deadline_sweeper::close_all()
{
    for (auto& d : deadlines_) {
        boost::system::error_code ignored;
        d.socket_.close(ignored);
    }
}

void deadline_sweeper::cancel_parked()
{
    for (auto& d : deadlines_) {
        if (!d.parked_) continue;
        boost::system::error_code ignored;
        d.socket_.cancel(ignored);
    }
}

void deadline_sweeper::sweep()
{
    const auto now = coarse_now();
    for (auto& d : deadlines_) {
        if (d.at_ > now) continue;
        d.at_ = clock::time_point::max();
        d.expired_ = true;
        boost::system::error_code ignored;
        d.socket_.cancel(ignored);
    }
}

void deadline_sweeper::schedule()
{
    if (stopped_) return;
    timer_.expires_after(tick_);
    timer_.async_wait([this](boost::system::error_code ec) {
        if (ec || stopped_) return;
        sweep();
        schedule();
    });
}

}  // namespace sluice::proxy
