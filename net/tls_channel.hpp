#pragma once
// An established TLS connection served in place: the client session reads and writes its TCP
// socket through this, so that a request over TLS costs what one over plain TCP costs plus one
// SSL_read and one SSL_write, with no relay and no second socket in between. The handshake is
// made before (Asio's TLS stream, in the TLS front), which then hands over its SSL.
//
// Reads decrypt what has arrived, without a failed recv (net/read_readiness.hpp): OpenSSL reads
// net::tls_buffers, which this fills from the socket when it runs dry. Writes encrypt into the
// buffers' output and send it; records the socket did not take wait there, and the next write
// sends them first. One coroutine writes at a time (the session's responses follow each other;
// a tunnel has one writer each way); a read may answer a key update meanwhile, and its record
// goes with the writer's next round.

#include "net/io_types.hpp"
#include "net/record_gather.hpp"
#include "net/tls_buffers.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/system/error_code.hpp>

#include <cstddef>
#include <memory>
#include <string>
#include <tuple>

struct ssl_st;

namespace sluice::net {

class tls_channel {
public:
    // Takes over one reference to `ssl`, whose handshake is done; false from attach() means the
    // channel cannot be used (OpenSSL could not make its BIO).
    explicit tls_channel(ssl_st* ssl) : ssl_(ssl) {}
    ~tls_channel();
    tls_channel(const tls_channel&) = delete;
    tls_channel& operator=(const tls_channel&) = delete;
    bool attach() { return buffers_.attach(ssl_); }
    // The channel for a connection whose handshake Asio's TLS stream has just made: a reference
    // of its own to the stream's SSL, attached (the bytes the stream's BIO still holds come
    // along). Null when OpenSSL cannot make its BIO.
    static std::unique_ptr<tls_channel> after_handshake(ssl_st* ssl);

    // Plaintext that has arrived, without waiting; `ec` is would_block when there is none yet
    // (read_some then waits), eof at the peer's close_notify or FIN.
    std::size_t read_arrived(socket_type& s, boost::asio::mutable_buffer into,
                             boost::system::error_code& ec);
    awaitable<std::tuple<boost::system::error_code, std::size_t>> read_some(
        socket_type& s, boost::asio::mutable_buffer into);

    // Whether the peer has closed (its close_notify, its FIN, or a record OpenSSL refused), seen
    // without a wait and without taking a byte from the session: what arrived is kept for the
    // next read. False also when nothing has come.
    bool peer_gone(socket_type& s);
    // Whether the peer has sent anything nobody asked for: application bytes, its close_notify
    // or FIN, or a record OpenSSL refused. Records of the handshake layer that come late (a
    // session ticket, a key update) are taken in on the way and count as nothing. For a pooled
    // server connection, which must carry no stale answer into the next request.
    bool sent_unasked(socket_type& s);

    // Bytes received and not yet read as plaintext: a pipelined request behind the last one,
    // which no socket event will announce again.
    bool holds_input() const;

    // Encrypts `data` and sends what the socket takes now. Returns the plaintext taken: all of
    // it, or 0 while records of an earlier write still wait (ec would_block). Records of this
    // write that the socket did not take wait for settle(). Small buffers of the sequence are
    // sealed together (net/record_gather.hpp).
    template <class Buffers>
    std::size_t write_now(socket_type& s, const Buffers& data, boost::system::error_code& ec)
    {
        if (!send_now(s, ec)) return 0;
        record_gather gather(ssl_);
        for (auto it = boost::asio::buffer_sequence_begin(data);
             it != boost::asio::buffer_sequence_end(data); ++it) {
            const boost::asio::const_buffer b(*it);
            if (!gather.add(b.data(), b.size())) break;
        }
        if (!gather.finish()) {
            ec = protocol_failure();
            return 0;
        }
        if (!send_now(s, ec) && ec == boost::asio::error::would_block) ec = {};
        return boost::asio::buffer_size(data);
    }

    // Encrypts `data` without sending it: its records wait for settle(), with those before
    // them, so that several writes leave in one send. False when OpenSSL refuses.
    bool queue(const void* data, std::size_t n);
    // Bytes of records that wait to be sent.
    std::size_t unsent() const { return buffers_.output().size(); }

    // No records wait to be sent.
    bool settled() const { return buffers_.output().empty() && !sending_; }
    // Sends waiting records without a suspension; true when none wait any more (false with
    // would_block while settle() is sending).
    bool send_now(socket_type& s, boost::system::error_code& ec);
    // Sends every waiting record, waiting for the socket as long as it takes (the caller's
    // deadline bounds it).
    awaitable<boost::system::error_code> settle(socket_type& s);

    // Gives back the buffers' memory while the connection waits for its next request (an idle
    // TLS client then costs OpenSSL's session state and little more).
    void release_idle();

    // The close_notify, sent if the socket takes it now; the peer's is not waited for.
    void close(socket_type& s);
    // A half-close: the close_notify, sent if the socket takes it now, while reads go on until
    // the peer's (a tunnel whose one side has finished).
    void close_send(socket_type& s);
    // The close_notify queued for the next settle(), unless the peer has left.
    void queue_close();
    // The close_notify behind every record still waiting, sent however long the socket takes
    // them (the caller's deadline bounds it): close() drops it when the socket is full, and a
    // slow reader then sees the stream end without it.
    awaitable<boost::system::error_code> close_when_sent(socket_type& s);

private:
    static boost::system::error_code protocol_failure();
    // Sends what a read made OpenSSL write (the answer to a TLS 1.3 key update), if the socket
    // takes it now.
    void send_answer(socket_type& s);
    // After a read that got plaintext: more from records already received (a body's records
    // come several to a recv), without a socket read. A failure or a close found on the way is
    // left for the next read to report.
    std::size_t read_buffered(boost::asio::mutable_buffer into, socket_type& s);
    enum class arrival { nothing, data, gone };
    // What has arrived, by SSL_peek: handshake records are taken in, application bytes kept.
    arrival peek_arrival(socket_type& s);

    ssl_st* ssl_;
    tls_buffers buffers_;
    std::string in_flight_;  // records being sent by settle()
    bool sending_ = false;
    bool peer_left_ = false;  // its close_notify came, or a record failed: none to send back
};

}  // namespace sluice::net
