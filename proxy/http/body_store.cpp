#include "proxy/http/body_store.hpp"

#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <unistd.h>

namespace sluice::proxy {

namespace {

std::error_code last_error() { return {errno, std::generic_category()}; }

std::string spool_directory(std::string_view configured)
{
    if (!configured.empty()) return std::string(configured);
    const char* tmp = std::getenv("TMPDIR");
    return tmp && *tmp ? tmp : "/tmp";
}

// A file with no name: O_TMPFILE where the file system has it, else a named one unlinked at once.
int open_spool_file(const std::string& dir)
{
    int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)) return fd;
    std::string name = dir + "/sluice-spool-XXXXXX";
    fd = ::mkostemp(name.data(), O_CLOEXEC);
    if (fd >= 0) ::unlink(name.c_str());
    return fd;
}

}  // namespace

body_store::~body_store()
{
    if (fd_ >= 0) ::close(fd_);
}

std::error_code body_store::append(std::string_view data)
{
    if (size() + data.size() > limits_.max_size)
        return std::make_error_code(std::errc::file_too_large);
    if (file_size_ == 0 && memory_.size() < limits_.memory) {
        const auto fits = std::min(data.size(), limits_.memory - memory_.size());
        memory_.append(data.substr(0, fits));
        data.remove_prefix(fits);
    }
    return data.empty() ? std::error_code{} : spool(data);
}

std::error_code body_store::spool(std::string_view data)
{
    if (fd_ < 0) {
        fd_ = open_spool_file(spool_directory(limits_.spool_dir));
        if (fd_ < 0) return last_error();
    }
    while (!data.empty()) {
        const auto n = ::pwrite(fd_, data.data(), data.size(), static_cast<off_t>(file_size_));
        if (n < 0) {
            if (errno == EINTR) continue;
            return last_error();
        }
        file_size_ += static_cast<std::uint64_t>(n);
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return {};
}

std::error_code body_store::read_at(std::uint64_t offset, char* scratch, std::size_t max,
                                    std::string_view& out) const
{
    out = {};
    if (offset < memory_.size()) {
        out = std::string_view(memory_).substr(static_cast<std::size_t>(offset), max);
        return {};
    }
    const auto in_file = offset - memory_.size();
    if (in_file >= file_size_) return {};
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(max, file_size_ - in_file));
    for (;;) {
        const auto n = ::pread(fd_, scratch, want, static_cast<off_t>(in_file));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return last_error();
        if (n == 0) return std::make_error_code(std::errc::io_error);  // the file shrank under us
        out = std::string_view(scratch, static_cast<std::size_t>(n));
        return {};
    }
}

void body_store::clear()
{
    memory_.clear();
    if (fd_ >= 0 && file_size_ > 0 && ::ftruncate(fd_, 0) != 0) {
        ::close(fd_);  // cannot be reused: a new file is made when one is needed
        fd_ = -1;
    }
    file_size_ = 0;
}

}  // namespace sluice::proxy
