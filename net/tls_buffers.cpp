#include "net/tls_buffers.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cstring>

namespace sluice::net {

namespace {

// A connection starts with room for a request or two: it stays allocated while the connection
// waits, idle or not. A read that fills it says more is coming (an upload), and the input grows
// to what Asio's BIO pair may hold (17 KiB) and a bit more, so that each recv takes a whole
// record. One that fills that too is a body in full flow, and the input grows to four records,
// so that one recv and one relay round move four of them rather than one (the memory goes back
// when the connection waits: release_idle). OpenSSL takes in any part of a record it is given:
// no record needs to fit.
constexpr std::size_t small_input = 4 * 1024;
constexpr std::size_t large_input = 18 * 1024;
constexpr std::size_t bulk_input = 4 * large_input;

}  // namespace

// The BIO's callbacks, with access to the buffers.
struct bio_calls {
    static tls_buffers& of(BIO* b) { return *static_cast<tls_buffers*>(BIO_get_data(b)); }

    static int read(BIO* b, char* to, int len)
    {
        auto& self = of(b);
        BIO_clear_retry_flags(b);
        const auto n = std::min(self.end_ - self.begin_, static_cast<std::size_t>(len));
        if (n == 0) {
            BIO_set_retry_read(b);
            return -1;
        }
        std::memcpy(to, self.in_.data() + self.begin_, n);
        self.begin_ += n;
        return static_cast<int>(n);
    }

    static int write(BIO* b, const char* from, int len)
    {
        BIO_clear_retry_flags(b);
        of(b).out_.append(from, static_cast<std::size_t>(len));
        return len;
    }

    static long ctrl(BIO* b, int cmd, long, void*)
    {
        switch (cmd) {
        case BIO_CTRL_FLUSH: return 1;
        case BIO_CTRL_PENDING: return static_cast<long>(of(b).end_ - of(b).begin_);
        case BIO_CTRL_WPENDING: return static_cast<long>(of(b).out_.size());
        default: return 0;
        }
    }

    static int create(BIO* b)
    {
        BIO_set_init(b, 1);
        return 1;
    }

    static const BIO_METHOD* method()
    {
        static BIO_METHOD* m = [] {
            auto* made = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "sluice relay");
            if (!made) return made;
            BIO_meth_set_read(made, read);
            BIO_meth_set_write(made, write);
            BIO_meth_set_ctrl(made, ctrl);
            BIO_meth_set_create(made, create);
            return made;
        }();
        return m;
    }
};

bool tls_buffers::attach(SSL* ssl)
{
    const auto* method = bio_calls::method();
    BIO* bio = method ? BIO_new(method) : nullptr;
    if (!bio) return false;
    BIO_set_data(bio, this);
    BIO* old = SSL_get_rbio(ssl);
    const std::size_t held = old ? BIO_ctrl_pending(old) : 0;
    in_.resize(std::max(small_input, held));  // only now: a failed handshake never needs it
    while (end_ < held) {
        const int n = BIO_read(old, in_.data() + end_, static_cast<int>(held - end_));
        if (n <= 0) {  // cannot happen: the pair said it held these bytes
            BIO_free(bio);
            return false;
        }
        end_ += static_cast<std::size_t>(n);
    }
    SSL_set_bio(ssl, bio, bio);  // frees OpenSSL's end of the pair
    return true;
}

boost::asio::mutable_buffer tls_buffers::input_space()
{
    if (in_.empty()) in_.resize(small_input);
    if (begin_ == end_) {
        begin_ = end_ = 0;
    } else if (begin_ > 0) {
        std::memmove(in_.data(), in_.data() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
    }
    return boost::asio::buffer(in_.data() + end_, in_.size() - end_);
}

void tls_buffers::release_idle()
{
    if (begin_ == end_) {
        std::vector<char>().swap(in_);
        begin_ = end_ = 0;
    }
    if (out_.empty()) std::string().swap(out_);
}

void tls_buffers::commit_input(std::size_t n)
{
    end_ += n;
    if (end_ == in_.size() && in_.size() < bulk_input)
        in_.resize(in_.size() < large_input ? large_input : bulk_input);
}

bool encrypt(SSL* ssl, const void* data, std::size_t n)
{
    const auto* bytes = static_cast<const char*>(data);
    while (n > 0) {
        std::size_t written = 0;
        if (SSL_write_ex(ssl, bytes, n, &written) != 1) {
            ERR_clear_error();
            return false;
        }
        bytes += written;
        n -= written;
    }
    return true;
}

}  // namespace sluice::net
