#pragma once
// One event-loop thread: its io_context, its deadline sweeper, the snapshot its new requests use,
// and small per-thread resources. A connection lives on one worker for its whole life, so
// nothing here needs a lock; other threads reach a worker only through asio::post.

#include "health/metrics.hpp"
#include "net/io_ring.hpp"
#include "net/splice_pipe.hpp"
#include "proxy/log/access_log.hpp"
#include "proxy/runtime/deadline_sweeper.hpp"
#include "proxy/runtime/idle_set.hpp"
#include "proxy/runtime/snapshot.hpp"

#include <boost/asio/io_context.hpp>

#include <array>
#include <memory>
#include <string>
#include <vector>

namespace sluice::proxy {

class worker {
public:
    // `wake_idle` serves a client connection whose socket waited in `idle`; `io_uring` asks for
    // the io_uring ring (config::root::io_uring), `splice` for pipes (config::root::splice).
    worker(unsigned index, access_log* log, health::metrics_shard& metrics,
           idle_set::wake_fn wake_idle, bool io_uring, bool splice);

    // One thread, and each socket used only by it (sockets are handed over by post): Asio may
    // skip its per-socket locks. Posting and timers from other threads stay safe.
    boost::asio::io_context io{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
    const unsigned index;
    deadline_sweeper sweeper;
    idle_set idle;
    access_log* const log;
    health::metrics_shard& metrics;
    clock::time_point last_stale_warning{};   // rate-limits the misaligned keep-alive hint
    std::shared_ptr<const snapshot> current;  // replaced by a reload (posted to this thread)

    // 16 hex digits, unique per process run.
    std::array<char, 16> next_request_id();

    // After the thread has stopped: closes every connection and runs the loop until each has
    // unwound, so nothing outlives the sweeper or the io_context it belongs to.
    void shut_down();

    // Every worker, this one included, in index order: set before the threads start.
    std::vector<worker*> siblings;

    // Set by a drain (on this thread): every further response says Connection: close.
    bool draining = false;
    // Set by shut_down: connections are being closed, nothing new starts.
    bool stopping = false;
    // Cancels the wait of every parked connection (deadline::park); each then closes.
    void close_idle() { sweeper.cancel_parked(); }

    // Body relay buffers, reused across requests so an idle connection holds none.
    static constexpr std::size_t relay_buffer_size = 64 * 1024;
    std::unique_ptr<char[]> take_relay_buffer();
    void give_back(std::unique_ptr<char[]> buffer);
    // Buffers for serialized message heads (and small bodies), reused the same way.
    std::string take_text_buffer();
    void give_back(std::string text);
    // Pipes that large bodies pass through without entering the proxy (net/splice_pipe.hpp).
    net::pipe_pool pipes;

private:
    std::uint64_t id_prefix_;
    std::uint64_t id_counter_ = 0;
    std::vector<std::unique_ptr<char[]>> spare_buffers_;
    std::vector<std::string> spare_texts_;

public:
    // Last, so first to go: an operation it still holds at exit unwinds its session while
    // everything above still exists.
    net::io_ring ring;
};

}  // namespace sluice::proxy
