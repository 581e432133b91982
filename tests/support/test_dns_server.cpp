#include "support/test_dns_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace sluice::test {
namespace {

constexpr std::uint16_t type_a = 1, type_aaaa = 28, type_srv = 33;
constexpr int rcode_servfail = 2, rcode_nxdomain = 3;

std::string canonical(std::string name)
{
    if (name.ends_with('.')) name.pop_back();
    std::ranges::transform(name, name.begin(), [](unsigned char c) { return std::tolower(c); });
    return name;
}

void put16(std::string& out, unsigned v)
{
    out += static_cast<char>(v >> 8 & 0xff);
    out += static_cast<char>(v & 0xff);
}

void put32(std::string& out, std::uint32_t v)
{
    put16(out, v >> 16);
    put16(out, v & 0xffff);
}

std::string encoded_name(const std::string& name)
{
    std::string out;
    std::size_t start = 0;
    const auto n = canonical(name);
    while (start < n.size()) {
        auto dot = n.find('.', start);
        if (dot == std::string::npos) dot = n.size();
        out += static_cast<char>(dot - start);
        out += n.substr(start, dot - start);
        start = dot + 1;
    }
    return out + '\0';
}

// One answer record, named by a pointer to the question's name (offset 12).
void put_record(std::string& out, std::uint16_t type, std::uint32_t ttl, const std::string& rdata)
{
    put16(out, 0xC00C);
    put16(out, type);
    put16(out, 1);  // IN
    put32(out, ttl);
    put16(out, static_cast<unsigned>(rdata.size()));
    out += rdata;
}

std::string address_bytes(int family, const std::string& text)
{
    unsigned char buffer[16];
    if (::inet_pton(family, text.c_str(), buffer) != 1)
        throw std::invalid_argument("test_dns_server: not an address: " + text);
    return std::string(reinterpret_cast<char*>(buffer), family == AF_INET ? 4 : 16);
}

}  // namespace

test_dns_server::test_dns_server()
{
    socket_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (socket_ < 0 || ::bind(socket_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(socket_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
        throw std::runtime_error("test_dns_server: cannot bind 127.0.0.1:0");
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
}

test_dns_server::~test_dns_server()
{
    stop_.store(true);
    thread_.join();
    ::close(socket_);
}

void test_dns_server::set_a(const std::string& name, std::vector<std::string> addresses,
                            std::uint32_t ttl)
{
    std::lock_guard lock(mutex_);
    auto& r = names_[canonical(name)];
    r.a = std::move(addresses);
    r.ttl = ttl;
}

void test_dns_server::set_aaaa(const std::string& name, std::vector<std::string> addresses,
                               std::uint32_t ttl)
{
    std::lock_guard lock(mutex_);
    auto& r = names_[canonical(name)];
    r.aaaa = std::move(addresses);
    r.ttl = ttl;
}

void test_dns_server::set_srv(const std::string& name, std::vector<srv_record> records,
                              std::uint32_t ttl)
{
    std::lock_guard lock(mutex_);
    auto& r = names_[canonical(name)];
    r.srv = std::move(records);
    r.ttl = ttl;
}

void test_dns_server::remove(const std::string& name)
{
    std::lock_guard lock(mutex_);
    names_.erase(canonical(name));
}

void test_dns_server::serve()
{
    while (!stop_.load()) {
        pollfd p{socket_, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) continue;
        char buffer[1500];
        sockaddr_storage from{};
        socklen_t len = sizeof from;
        const auto n = ::recvfrom(socket_, buffer, sizeof buffer, 0,
                                  reinterpret_cast<sockaddr*>(&from), &len);
        if (n < 12) continue;
        ++queries_;
        const auto reply = answer(std::string(buffer, static_cast<std::size_t>(n)));
        if (!reply.empty())
            ::sendto(socket_, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from),
                     len);
    }
}

// The reply to one query ("" = none): the header and question copied, then the records.
std::string test_dns_server::answer(const std::string& query)
{
    const auto m = mode_.load();
    if (m == mode::silent) return "";
    // The question: a name of labels (no compression in a query), then type and class.
    std::size_t at = 12;
    std::string name;
    while (at < query.size() && query[at] != 0) {
        const auto len = static_cast<unsigned char>(query[at]);
        if (!name.empty()) name += '.';
        name += query.substr(at + 1, len);
        at += 1 + len;
    }
    if (at + 5 > query.size()) return "";
    const auto type = static_cast<std::uint16_t>(static_cast<unsigned char>(query[at + 1]) << 8 |
                                                 static_cast<unsigned char>(query[at + 2]));
    const auto question = query.substr(12, at + 5 - 12);

    int rcode = m == mode::servfail ? rcode_servfail : m == mode::nxdomain ? rcode_nxdomain : 0;
    std::string records;
    unsigned count = 0;
    if (rcode == 0) {
        std::lock_guard lock(mutex_);
        const auto found = names_.find(canonical(name));
        if (found == names_.end()) {
            rcode = rcode_nxdomain;
        } else {
            const auto& r = found->second;
            const auto add = [&](std::string rdata) {
                put_record(records, type, r.ttl, rdata);
                ++count;
            };
            if (type == type_a)
                for (const auto& a : r.a) add(address_bytes(AF_INET, a));
            if (type == type_aaaa)
                for (const auto& a : r.aaaa) add(address_bytes(AF_INET6, a));
            if (type == type_srv)
                for (const auto& s : r.srv) {
                    std::string rdata;
                    put16(rdata, s.priority);
                    put16(rdata, s.weight);
                    put16(rdata, s.port);
                    add(rdata + encoded_name(s.target));
                }
        }
    }
    std::string out = query.substr(0, 2);  // id
    const auto rd = static_cast<unsigned char>(query[2]) & 0x01;
    put16(out, 0x8000u | rd << 8 | 0x0080u | static_cast<unsigned>(rcode));  // QR, RD, RA
    put16(out, 1);
    put16(out, count);
    put16(out, 0);
    put16(out, 0);
    return out + question + records;
}

}  // namespace sluice::test
