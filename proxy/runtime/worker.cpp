#include "proxy/runtime/worker.hpp"

#include <random>

namespace sluice::proxy {

worker::worker(unsigned index, access_log* log, health::metrics_shard& metrics,
               idle_set::wake_fn wake_idle, bool io_uring, bool splice)
    : index(index), sweeper(io, std::chrono::milliseconds(20)), idle(io, wake_idle), log(log),
      metrics(metrics), pipes(splice), id_prefix_(std::random_device{}()), ring(io, io_uring)
{
    id_prefix_ = (id_prefix_ << 32) ^ std::random_device{}();
}

std::array<char, 16> worker::next_request_id()
{
    // splitmix64 of a per-thread counter: unique per process run, cheap, not guessable in order.
    std::uint64_t z = id_prefix_ + (++id_counter_) * 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    static constexpr char hex[] = "0123456789abcdef";
    std::array<char, 16> id;
    for (int i = 15; i >= 0; --i, z >>= 4) id[static_cast<std::size_t>(i)] = hex[z & 0xf];
    return id;
}

void worker::shut_down()
{
    stopping = true;
    draining = true;
    sweeper.stop();
    io.restart();
    // Sends are submitted before their sockets close: a descriptor number closed with a send
    // still queued on it could be another thread's new socket by the time it is submitted.
    do {
        ring.flush();
        sweeper.close_all();
    } while (io.poll() > 0);
    current.reset();
}

std::unique_ptr<char[]> worker::take_relay_buffer()
{
    if (spare_buffers_.empty()) return std::make_unique_for_overwrite<char[]>(relay_buffer_size);
    auto b = std::move(spare_buffers_.back());
    spare_buffers_.pop_back();
    return b;
}

void worker::give_back(std::unique_ptr<char[]> buffer)
{
    if (spare_buffers_.size() < 16) spare_buffers_.push_back(std::move(buffer));
}

std::string worker::take_text_buffer()
{
    if (spare_texts_.empty()) return {};
    auto t = std::move(spare_texts_.back());
    spare_texts_.pop_back();
    t.clear();
    return t;
}

void worker::give_back(std::string text)
{
    // A text grown past what a head and a small body need goes: one huge head must not pin
    // its memory for good.
    if (spare_texts_.size() < 64 && text.capacity() <= 32 * 1024)
        spare_texts_.push_back(std::move(text));
}

}  // namespace sluice::proxy
