#pragma once
// A small DNS server for tests of discovery: UDP on 127.0.0.1, an ephemeral port, its own thread.
// A test sets the records of a name while it runs (A, AAAA, SRV, with a TTL), and can make every
// answer SERVFAIL or NXDOMAIN, or let queries go unanswered (a resolver that is down). A name it
// has no record of gets NXDOMAIN; a known name without records of the asked type, an empty
// NOERROR answer. Plain POSIX sockets, so unit_io and integration tests can both use it.
//
//   test_dns_server dns;
//   dns.set_a("app.test", {"127.0.0.2", "127.0.0.3"});
//   ... resolvers: [dns.address()] ...
//   dns.set_mode(test_dns_server::mode::servfail);

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace sluice::test {

struct srv_record {
    std::uint16_t priority = 0;
    std::uint16_t weight = 0;
    std::uint16_t port = 0;
    std::string target;
};

class test_dns_server {
public:
    enum class mode { answer, servfail, nxdomain, silent };

    test_dns_server();
    ~test_dns_server();
    test_dns_server(const test_dns_server&) = delete;
    test_dns_server& operator=(const test_dns_server&) = delete;

    std::uint16_t port() const { return port_; }
    std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

    // Replaces the name's records of that type (names are compared without case or final dot).
    void set_a(const std::string& name, std::vector<std::string> addresses, std::uint32_t ttl = 30);
    void set_aaaa(const std::string& name, std::vector<std::string> addresses,
                  std::uint32_t ttl = 30);
    void set_srv(const std::string& name, std::vector<srv_record> records, std::uint32_t ttl = 30);
    void remove(const std::string& name);  // NXDOMAIN from now on
    void set_mode(mode m) { mode_.store(m); }
    std::size_t queries() const { return queries_.load(); }

private:
    struct records {
        std::vector<std::string> a, aaaa;
        std::vector<srv_record> srv;
        std::uint32_t ttl = 30;
    };
    void serve();
    std::string answer(const std::string& query);

    int socket_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<mode> mode_{mode::answer};
    std::atomic<bool> stop_{false};
    std::atomic<std::size_t> queries_{0};
    std::mutex mutex_;
    std::map<std::string, records> names_;  // guarded by mutex_
    std::thread thread_;
};

}  // namespace sluice::test
