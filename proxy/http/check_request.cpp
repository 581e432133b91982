#include "proxy/http/check_request.hpp"

#include "proxy/http/uwsgi_request.hpp"

namespace sluice::proxy {

namespace {

constexpr std::string_view user_agent = "sluice-health-check";

std::string host_for(const config::health_http& h, const config::endpoint& address)
{
    if (!h.host.empty()) return h.host;
    return address.type == config::endpoint::kind::unix_socket ? "localhost" : address.text;
}

// No REMOTE_ADDR or REMOTE_PORT (the checker's socket is its own business) and no body.
check_request uwsgi_check(const config::health_http& h, const config::endpoint& address,
                          const std::string& host)
{
    const bool tcp = address.type == config::endpoint::kind::tcp;
    const auto port = tcp ? std::to_string(address.port) : std::string();
    const auto name = tcp ? address.host : std::string("localhost");
    uwsgi_head_input in{.method = h.method,
                        .target = h.path,
                        .version = "HTTP/1.1",
                        .headers = {{"Host", host}, {"User-Agent", user_agent}},
                        .server_name = name,
                        .server_port = port,
                        .server_protocol_scheme = "http"};
    auto encoded = encode_uwsgi_request(in);
    return {std::move(encoded.packet), std::move(encoded.error)};
}

}  // namespace

check_request make_check_request(const config::health_http& h, const config::endpoint& address,
                                 config::protocol p)
{
    const auto host = host_for(h, address);
    if (p == config::protocol::uwsgi) return uwsgi_check(h, address, host);
    return {h.method + " " + h.path + " HTTP/1.1\r\nHost: " + host +
                "\r\nUser-Agent: " + std::string(user_agent) + "\r\nConnection: close\r\n\r\n",
            ""};
}

}  // namespace sluice::proxy
