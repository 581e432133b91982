#include "proxy/http/check_request.hpp"

#include <gtest/gtest.h>

#include <map>

namespace sluice::proxy {
namespace {

config::endpoint tcp(std::string host, std::uint16_t port)
{
    return {config::endpoint::kind::tcp, host, port, "", host + ":" + std::to_string(port)};
}

config::endpoint unix_socket(std::string path)
{
    return {config::endpoint::kind::unix_socket, "", 0, path, "unix:" + path};
}

// The vars of a uwsgi packet, by name (the packet layout itself is uwsgi_request_test's).
std::map<std::string, std::string> vars_of(std::string_view packet)
{
    auto le16 = [&](std::size_t at) {
        return static_cast<unsigned char>(packet.at(at)) |
               static_cast<std::size_t>(static_cast<unsigned char>(packet.at(at + 1))) << 8;
    };
    EXPECT_EQ(packet.at(0), '\0') << "modifier1 0: a WSGI request";
    EXPECT_EQ(le16(1), packet.size() - 4);
    std::map<std::string, std::string> out;
    for (std::size_t at = 4; at < packet.size();) {
        auto key = std::string(packet.substr(at + 2, le16(at)));
        at += 2 + key.size();
        out[key] = std::string(packet.substr(at + 2, le16(at)));
        at += 2 + out[key].size();
    }
    return out;
}

TEST(check_request, http_is_one_request_that_closes)
{
    config::health_http h;
    h.method = "HEAD";
    auto r = make_check_request(h, tcp("127.0.0.1", 8001), config::protocol::http);
    EXPECT_EQ(r.bytes, "HEAD /healthz HTTP/1.1\r\nHost: 127.0.0.1:8001\r\n"
                       "User-Agent: sluice-health-check\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(r.error, "");
    h.host = "app.local";
    r = make_check_request(h, unix_socket("/run/app.sock"), config::protocol::http);
    EXPECT_NE(r.bytes.find("\r\nHost: app.local\r\n"), std::string::npos) << r.bytes;
    h.host = "";
    r = make_check_request(h, unix_socket("/run/app.sock"), config::protocol::http);
    EXPECT_NE(r.bytes.find("\r\nHost: localhost\r\n"), std::string::npos) << r.bytes;
}

// Issue 13 point 4: an HTTP request on a uWSGI socket is read as a packet of 21573 bytes.
TEST(check_request, uwsgi_is_the_same_request_as_a_packet)
{
    config::health_http h;
    h.path = "/healthz?deep=1";
    h.host = "app.local";
    auto r = make_check_request(h, tcp("127.0.0.1", 8001), config::protocol::uwsgi);
    ASSERT_EQ(r.error, "");
    auto vars = vars_of(r.bytes);
    EXPECT_EQ(vars["REQUEST_METHOD"], "GET");
    EXPECT_EQ(vars["REQUEST_URI"], "/healthz?deep=1");
    EXPECT_EQ(vars["PATH_INFO"], "/healthz");
    EXPECT_EQ(vars["QUERY_STRING"], "deep=1");
    EXPECT_EQ(vars["SERVER_PROTOCOL"], "HTTP/1.1");
    EXPECT_EQ(vars["HTTP_HOST"], "app.local");
    EXPECT_EQ(vars["HTTP_USER_AGENT"], "sluice-health-check");
    EXPECT_EQ(vars["SERVER_NAME"], "127.0.0.1");
    EXPECT_EQ(vars["SERVER_PORT"], "8001");
    EXPECT_EQ(vars.count("CONTENT_LENGTH"), 0u) << "no body";
    EXPECT_EQ(vars.count("HTTP_CONNECTION"), 0u) << "uWSGI closes after each request anyway";
}

TEST(check_request, a_uwsgi_check_on_a_unix_socket_names_localhost)
{
    auto r = make_check_request({}, unix_socket("/run/app.sock"), config::protocol::uwsgi);
    auto vars = vars_of(r.bytes);
    EXPECT_EQ(vars["HTTP_HOST"], "localhost");
    EXPECT_EQ(vars["SERVER_NAME"], "localhost");
    EXPECT_EQ(vars["SERVER_PORT"], "");
}

TEST(check_request, a_head_too_long_for_uwsgi_is_an_error)
{
    config::health_http h;
    h.path = "/" + std::string(70000, 'a');
    auto r = make_check_request(h, tcp("127.0.0.1", 8001), config::protocol::uwsgi);
    EXPECT_EQ(r.bytes, "");
    EXPECT_NE(r.error.find("over uWSGI's limit of 65535"), std::string::npos) << r.error;
}

}  // namespace
}  // namespace sluice::proxy
