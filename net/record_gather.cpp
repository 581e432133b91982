#include "net/record_gather.hpp"

#include "net/tls_buffers.hpp"

#include <array>
#include <cstring>

namespace sluice::net {

namespace {

// One record's plaintext at most.
constexpr std::size_t record_size = 16 * 1024;
// A buffer this large with nothing gathered before it is sealed in place: copying it would
// cost more than the record it saves.
constexpr std::size_t seal_in_place_from = 4 * 1024;

// Used within one call of tls_channel::write_now, which never suspends: one per thread is
// enough.
thread_local std::array<char, record_size> gathered_bytes;

}  // namespace

bool record_gather::add(const void* data, std::size_t n)
{
    if (failed_ || n == 0) return !failed_;
    const bool fits = gathered_ + n <= record_size;
    if (fits && (gathered_ > 0 || n < seal_in_place_from)) {
        std::memcpy(gathered_bytes.data() + gathered_, data, n);
        gathered_ += n;
        return true;
    }
    if (!seal()) return false;
    if (n < seal_in_place_from) return add(data, n);
    failed_ = !encrypt(ssl_, data, n);
    return !failed_;
}

bool record_gather::finish() { return seal(); }

bool record_gather::seal()
{
    if (failed_ || gathered_ == 0) return !failed_;
    failed_ = !encrypt(ssl_, gathered_bytes.data(), gathered_);
    gathered_ = 0;
    return !failed_;
}

}  // namespace sluice::net
