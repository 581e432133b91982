// net::tls_channel on the client side of a real TLS 1.3 connection over a socket pair, as a
// pooled server connection uses it: between requests the server's late handshake records (its
// session tickets, a key update) are taken in without making the connection look stale, while
// any answer nobody asked for, or its close, does; a half-close still reads the peer; and the
// close_notify behind records a full socket has not taken still gets there.

#include "net/tls_channel.hpp"

#include "socket_pair.hpp"
#include "support/test_certificates.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

#include <openssl/ssl.h>

#include <algorithm>
#include <string>

namespace sluice::net {
namespace {

namespace asio = boost::asio;
using testing::socket_pair;

// A handshaken pair: `server` speaks OpenSSL straight on the peer's descriptor; the client's SSL
// goes on in `channel`, on `ours`.
class tls_channel_test : public ::testing::Test {
protected:
    void SetUp() override
    {
        const auto cert = test::write_self_signed(dir.path(), "server");
        server_ctx = SSL_CTX_new(TLS_server_method());
        client_ctx = SSL_CTX_new(TLS_client_method());
        ASSERT_EQ(SSL_CTX_use_certificate_file(server_ctx, cert.cert.c_str(), SSL_FILETYPE_PEM), 1);
        ASSERT_EQ(SSL_CTX_use_PrivateKey_file(server_ctx, cert.key.c_str(), SSL_FILETYPE_PEM), 1);
        SSL_CTX_set_min_proto_version(server_ctx, TLS1_3_VERSION);
        server = SSL_new(server_ctx);
        SSL* client = SSL_new(client_ctx);
        SSL_set_fd(server, fds.peer);
        SSL_set_fd(client, fds.ours);
        SSL_set_accept_state(server);
        SSL_set_connect_state(client);
        bool client_done = false, server_done = false;
        for (int i = 0; i < 100 && !(client_done && server_done); ++i) {
            client_done = client_done || SSL_do_handshake(client) == 1;
            server_done = server_done || SSL_do_handshake(server) == 1;
        }
        ASSERT_TRUE(client_done && server_done);
        channel = std::make_unique<tls_channel>(client);
        ASSERT_TRUE(channel->attach());
        ours.assign(asio::generic::stream_protocol(AF_UNIX, SOCK_STREAM), fds.ours);
        fds.ours = -1;
        ours.non_blocking(true);
    }

    void TearDown() override
    {
        channel.reset();
        SSL_free(server);
        SSL_CTX_free(server_ctx);
        SSL_CTX_free(client_ctx);
    }

    // What the server has received as application bytes so far (the client's answers to its
    // handshake records are taken in on the way).
    std::string server_reads()
    {
        std::string got;
        char buf[256];
        std::size_t n = 0;
        while (SSL_read_ex(server, buf, sizeof buf, &n) == 1) got.append(buf, n);
        return got;
    }

    test::scratch_dir dir;
    socket_pair fds;
    asio::io_context io;
    socket_type ours{io};
    SSL_CTX* server_ctx = nullptr;
    SSL_CTX* client_ctx = nullptr;
    SSL* server = nullptr;
    std::unique_ptr<tls_channel> channel;
};

TEST_F(tls_channel_test, late_tickets_and_a_key_update_are_not_an_unasked_answer)
{
    // The server's two TLS 1.3 session tickets went out after the handshake and wait unread.
    EXPECT_FALSE(channel->sent_unasked(ours));
    ASSERT_EQ(SSL_key_update(server, SSL_KEY_UPDATE_REQUESTED), 1);
    ASSERT_EQ(SSL_do_handshake(server), 1);
    EXPECT_FALSE(channel->sent_unasked(ours));
    // The client answered the update with keys of its own: the server still reads it.
    boost::system::error_code ec;
    const std::string request = "GET / HTTP/1.1\r\n\r\n";
    EXPECT_EQ(channel->write_now(ours, asio::buffer(request), ec), request.size());
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_EQ(server_reads(), request);
}

TEST_F(tls_channel_test, application_bytes_or_a_close_are_an_unasked_answer)
{
    ASSERT_EQ(SSL_write(server, "late", 4), 4);
    EXPECT_TRUE(channel->sent_unasked(ours));
    // Peeked, not taken: the bytes are still there to read.
    char buf[16];
    boost::system::error_code ec;
    EXPECT_EQ(channel->read_arrived(ours, asio::buffer(buf), ec), 4u);
    EXPECT_EQ(std::string(buf, 4), "late");
    EXPECT_FALSE(channel->sent_unasked(ours));
    SSL_shutdown(server);
    EXPECT_TRUE(channel->sent_unasked(ours));
}

// A body's records come several to a recv: one read hands over all that are whole, not one.
TEST_F(tls_channel_test, one_read_takes_every_record_already_received)
{
    EXPECT_FALSE(channel->sent_unasked(ours));  // the tickets, out of the way
    const std::string record(4096, 'r');
    for (int i = 0; i < 4; ++i) ASSERT_EQ(SSL_write(server, record.data(), 4096), 4096);
    std::string into(65536, '\0');
    boost::system::error_code ec;
    EXPECT_EQ(channel->read_arrived(ours, asio::buffer(into), ec), 4u * 4096) << ec.message();
    EXPECT_EQ(std::count(into.begin(), into.end(), 'r'), 4 * 4096);
}

TEST_F(tls_channel_test, a_half_close_still_reads_what_the_peer_sends_after_it)
{
    channel->close_send(ours);
    char buf[16];
    std::size_t n = 0;
    EXPECT_EQ(SSL_read_ex(server, buf, sizeof buf, &n), 0);
    EXPECT_EQ(SSL_get_error(server, 0), SSL_ERROR_ZERO_RETURN);  // the close_notify came
    ASSERT_EQ(SSL_write(server, "answer", 6), 6);
    boost::system::error_code ec;
    EXPECT_EQ(channel->read_arrived(ours, asio::buffer(buf), ec), 6u) << ec.message();
    EXPECT_EQ(std::string(buf, 6), "answer");
    SSL_shutdown(server);
    EXPECT_EQ(channel->read_arrived(ours, asio::buffer(buf), ec), 0u);
    EXPECT_EQ(ec, asio::error::eof);
}

// The end of a large response to a slow reader: records wait for the socket, and the close_notify
// behind them must not be lost when the socket is full at the close.
TEST_F(tls_channel_test, the_close_notify_waits_behind_records_the_socket_has_not_taken)
{
    EXPECT_FALSE(channel->sent_unasked(ours));  // the tickets, out of the way
    const std::string piece(16 * 1024, 'b');
    std::size_t written = 0;
    boost::system::error_code ec;
    while (channel->unsent() == 0 && written < (64u << 20)) {
        written += channel->write_now(ours, asio::buffer(piece), ec);
        ASSERT_FALSE(ec) << ec.message();
    }
    ASSERT_GT(channel->unsent(), 0u) << "the socket never filled";
    bool closed = false;
    asio::co_spawn(
        io,
        [&]() -> awaitable<void> {
            ec = co_await channel->close_when_sent(ours);
            closed = true;
        },
        asio::detached);
    std::size_t received = 0;
    int last_error = SSL_ERROR_NONE;
    std::string buf(65536, '\0');
    for (int round = 0; round < 100000 && last_error != SSL_ERROR_ZERO_RETURN; ++round) {
        io.poll();
        std::size_t n = 0;
        if (SSL_read_ex(server, buf.data(), buf.size(), &n) == 1) {
            received += n;
            continue;
        }
        last_error = SSL_get_error(server, 0);
        if (last_error != SSL_ERROR_WANT_READ) break;
    }
    EXPECT_EQ(received, written);
    EXPECT_EQ(last_error, SSL_ERROR_ZERO_RETURN) << "no close_notify after the records";
    io.run_for(std::chrono::seconds(5));
    EXPECT_TRUE(closed);
    EXPECT_FALSE(ec) << ec.message();
}

}  // namespace
}  // namespace sluice::net
