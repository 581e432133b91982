#pragma once
// A message body the proxy holds instead of streaming it: the first `memory` bytes in memory, the
// rest in a spool file that is unlinked as soon as it is made, so nothing is left behind whatever
// way the process ends (NGINX's client_body_temp_path and proxy_temp_path, without the names).
// Used for a request body read whole before it asks for a slot, and for the part of a response a
// slow client has not taken yet. Pure of Asio: plain file descriptors, errors as values.

#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

namespace sluice::proxy {

class body_store {
public:
    struct limits {
        std::size_t memory = 1024 * 1024;  // bytes kept in memory before spooling
        std::uint64_t max_size = 1024ull * 1024 * 1024;
        // "" = $TMPDIR, else /tmp. A view into the config, which outlives every request: no copy
        // of the path per response.
        std::string_view spool_dir;
    };

    explicit body_store(limits l) : limits_(std::move(l)) {}
    body_store(const body_store&) = delete;
    body_store& operator=(const body_store&) = delete;
    ~body_store();

    // Appends `data`. std::errc::file_too_large when the body would pass max_size (nothing is
    // appended then); the spool file's own error when it cannot be made or written.
    std::error_code append(std::string_view data);

    // Up to `max` bytes from `offset` on: a view of memory, or read from the spool file into
    // `scratch` (at least `max` bytes). Empty at the end.
    std::error_code read_at(std::uint64_t offset, char* scratch, std::size_t max,
                            std::string_view& out) const;

    // Forgets every byte and keeps the memory and the file for reuse: for a backlog that a
    // client has caught up with.
    void clear();

    std::uint64_t size() const { return memory_.size() + file_size_; }
    std::uint64_t max_size() const { return limits_.max_size; }
    bool spooled() const { return file_size_ > 0; }
    // The bytes in memory: the whole body when nothing was spooled.
    std::string_view in_memory() const { return memory_; }

private:
    std::error_code spool(std::string_view data);

    limits limits_;
    std::string memory_;
    int fd_ = -1;
    std::uint64_t file_size_ = 0;
};

}  // namespace sluice::proxy
