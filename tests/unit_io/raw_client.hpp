#pragma once
// A blocking client for the admin listener's tests (unit_io): one socket, Beast's parser fed by
// hand.

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace sluice::test {

namespace beast = boost::beast;
namespace http = beast::http;
using response = http::response<http::string_body>;

// Plain blocking socket with a receive timeout, so a hung server fails a test, never hangs it.
// Responses are parsed with Beast's parser fed by hand, which keeps pipelined leftovers.
class raw_client {
public:
    explicit raw_client(const std::string& address)
    {
        bool is_unix = address.starts_with("unix:");
        fd_ = ::socket(is_unix ? AF_UNIX : AF_INET, SOCK_STREAM, 0);
        timeval timeout{10, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
        int rc = -1;
        if (is_unix) {
            sockaddr_un a{};
            a.sun_family = AF_UNIX;
            std::strncpy(a.sun_path, address.c_str() + 5, sizeof a.sun_path - 1);
            rc = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
        } else {
            sockaddr_in a{};
            a.sin_family = AF_INET;
            a.sin_port = htons(std::stoi(address.substr(address.rfind(':') + 1)));
            ::inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
            rc = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
        }
        if (rc != 0) throw std::runtime_error("cannot connect to " + address);
    }
    ~raw_client() { ::close(fd_); }

    void send(std::string_view bytes)
    {
        ASSERT_EQ(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL),
                  static_cast<ssize_t>(bytes.size()));
    }
    // The next response; nullopt when the server closed (or timed out) first.
    std::optional<response> receive(bool to_head = false)
    {
        http::response_parser<http::string_body> parser;
        parser.eager(true);
        parser.skip(to_head);
        for (;;) {
            beast::error_code ec;
            auto used = pending_.empty() ? 0 : parser.put(boost::asio::buffer(pending_), ec);
            pending_.erase(0, used);
            if (parser.is_done()) return parser.release();
            if (ec && ec != http::error::need_more) return std::nullopt;
            if (used > 0 && !pending_.empty()) continue;
            char chunk[4096];
            auto n = ::recv(fd_, chunk, sizeof chunk, 0);
            if (n <= 0) return std::nullopt;
            pending_.append(chunk, static_cast<std::size_t>(n));
        }
    }
    std::optional<response> get(std::string_view target, std::string_view method = "GET")
    {
        send(std::string(method) + " " + std::string(target) + " HTTP/1.1\r\nHost: admin\r\n\r\n");
        return receive(method == "HEAD");
    }
    // True when the server closed the connection (rather than the receive timing out).
    bool closed_by_server()
    {
        char c;
        return ::recv(fd_, &c, 1, 0) == 0;
    }

private:
    int fd_ = -1;
    std::string pending_;
};

}  // namespace sluice::test
