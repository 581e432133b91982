#include "net/dns_resolver.hpp"

#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <poll.h>

#include <algorithm>
#include <array>
#include <memory>
#include <mutex>
#include <stdexcept>

namespace sluice::net {
namespace {

using clock = std::chrono::steady_clock;

// One query's outcome: the c-ares status and the raw answer, parsed once the channel is done.
struct pending {
    int type = 0;  // ns_t_a, ns_t_aaaa, ns_t_srv
    int status = ARES_ENOTINITIALIZED;
    std::vector<unsigned char> answer;
    std::uint16_t port = 0, priority = 0, weight = 0;  // what the addresses get
    bool done = false;
};

void on_answer(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen)
{
    auto* p = static_cast<pending*>(arg);
    p->status = status;
    if (abuf && alen > 0) p->answer.assign(abuf, abuf + alen);
    p->done = true;
}

resolve_failure failure_of(int status)
{
    switch (status) {
    case ARES_ENODATA: return resolve_failure::empty;
    case ARES_ENOTFOUND: return resolve_failure::nxdomain;
    case ARES_ESERVFAIL:
    case ARES_EREFUSED: return resolve_failure::servfail;
    case ARES_ETIMEOUT:
    case ARES_ECANCELLED: return resolve_failure::timeout;
    default: return resolve_failure::other;
    }
}

// Of two failures, the one that says more: an operator acts on NXDOMAIN before a timeout.
resolve_failure worse(resolve_failure a, resolve_failure b)
{
    constexpr resolve_failure order[] = {resolve_failure::nxdomain, resolve_failure::servfail,
                                         resolve_failure::timeout, resolve_failure::other,
                                         resolve_failure::empty};
    for (auto f : order)
        if (a == f || b == f) return f;
    return a;
}

// A name in a DNS message: labels, or a compression pointer; returns the offset past it.
std::size_t skip_name(const std::vector<unsigned char>& m, std::size_t at)
{
    while (at < m.size()) {
        const auto len = m[at];
        if ((len & 0xC0) == 0xC0) return at + 2;
        if (len == 0) return at + 1;
        at += 1 + len;
    }
    return m.size();
}

// The smallest TTL of the answer section's records, if any (c-ares gives none for SRV).
std::optional<std::chrono::seconds> smallest_ttl(const std::vector<unsigned char>& m)
{
    if (m.size() < 12) return std::nullopt;
    const auto u16 = [&](std::size_t at) { return static_cast<unsigned>(m[at] << 8 | m[at + 1]); };
    const auto questions = u16(4), answers = u16(6);
    std::size_t at = 12;
    for (unsigned i = 0; i < questions && at < m.size(); ++i) at = skip_name(m, at) + 4;
    std::optional<std::chrono::seconds> ttl;
    for (unsigned i = 0; i < answers; ++i) {
        at = skip_name(m, at);
        if (at + 10 > m.size()) break;
        const std::uint32_t t = u16(at + 4) << 16 | u16(at + 6);
        const std::chrono::seconds s{std::min<std::uint32_t>(t, 0x7fffffff)};
        ttl = ttl ? std::min(*ttl, s) : s;
        at += 10 + u16(at + 8);
    }
    return ttl;
}

std::string text_of(int family, const void* address)
{
    char buffer[INET6_ADDRSTRLEN] = {};
    ::inet_ntop(family, address, buffer, sizeof buffer);
    return buffer;
}

// The addresses of one A or AAAA answer.
std::vector<resolved_address> addresses_of(const pending& p)
{
    std::vector<resolved_address> out;
    const auto* buf = p.answer.data();
    const int len = static_cast<int>(p.answer.size());
    constexpr int capacity = 1024;
    if (p.type == ns_t_a) {
        std::vector<ares_addrttl> found(capacity);
        int n = capacity;
        if (ares_parse_a_reply(buf, len, nullptr, found.data(), &n) != ARES_SUCCESS) return out;
        for (int i = 0; i < n; ++i)
            out.push_back({text_of(AF_INET, &found[i].ipaddr), p.port, p.priority, p.weight});
    } else {
        std::vector<ares_addr6ttl> found(capacity);
        int n = capacity;
        if (ares_parse_aaaa_reply(buf, len, nullptr, found.data(), &n) != ARES_SUCCESS) return out;
        for (int i = 0; i < n; ++i)
            out.push_back({text_of(AF_INET6, &found[i].ip6addr), p.port, p.priority, p.weight});
    }
    return out;
}

class channel {
public:
    explicit channel(const dns_query& q)
    {
        static std::once_flag library;
        std::call_once(library, [] { ares_library_init(ARES_LIB_INIT_ALL); });
        ares_options options{};
        options.timeout = static_cast<int>(q.timeout.count());
        options.tries = 1;
        // SERVFAIL and REFUSED come back as such: c-ares 1.18 otherwise moves on to the next
        // resolver and, when none is left, reports a refused connection instead.
        options.flags = ARES_FLAG_NOCHECKRESP;
        if (ares_init_options(&channel_, &options,
                              ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS) != ARES_SUCCESS)
            throw std::runtime_error("c-ares: cannot make a channel");
        if (q.resolvers.empty()) return;
        std::string csv;
        for (const auto& r : q.resolvers) {
            const bool v6 = r.host.find(':') != std::string::npos;
            csv += (csv.empty() ? "" : ",") + (v6 ? "[" + r.host + "]" : r.host) + ":" +
                   std::to_string(r.port);
        }
        if (ares_set_servers_ports_csv(channel_, csv.c_str()) != ARES_SUCCESS) {
            ares_destroy(channel_);
            throw std::runtime_error("c-ares: cannot use the resolvers " + csv);
        }
    }
    ~channel() { ares_destroy(channel_); }

    // Each resolver has `timeout` before the next is asked.
    clock::duration patience(std::chrono::milliseconds timeout) const
    {
        int count = 0;
        ares_addr_node* servers = nullptr;
        if (ares_get_servers(channel_, &servers) == ARES_SUCCESS)
            for (auto* s = servers; s; s = s->next) ++count;
        ares_free_data(servers);
        return timeout * std::max(1, count);
    }
    channel(const channel&) = delete;
    channel& operator=(const channel&) = delete;

    void ask(const std::string& name, pending& p)
    {
        ares_query(channel_, name.c_str(), ns_c_in, p.type, on_answer, &p);
    }

    // Runs the queries asked until each has its outcome or the deadline passes (then the ones
    // left end as cancelled, which counts as a timeout).
    void run(const std::vector<std::unique_ptr<pending>>& queries, clock::time_point deadline)
    {
        const auto all_done = [&] {
            return std::ranges::all_of(queries, [](const auto& p) { return p->done; });
        };
        while (!all_done()) {
            const auto now = clock::now();
            if (now >= deadline) {
                ares_cancel(channel_);
                break;
            }
            std::array<ares_socket_t, ARES_GETSOCK_MAXNUM> sockets{};
            const int bits = ares_getsock(channel_, sockets.data(), ARES_GETSOCK_MAXNUM);
            std::vector<pollfd> fds;
            for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
                short events = 0;
                if (ARES_GETSOCK_READABLE(bits, i)) events |= POLLIN;
                if (ARES_GETSOCK_WRITABLE(bits, i)) events |= POLLOUT;
                if (events) fds.push_back({sockets[i], events, 0});
            }
            timeval max{}, wait{};
            const auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - now);
            max.tv_sec = static_cast<time_t>(left.count() / 1000000);
            max.tv_usec = static_cast<suseconds_t>(left.count() % 1000000);
            const auto* t = ares_timeout(channel_, &max, &wait);
            const int ms = static_cast<int>(t->tv_sec * 1000 + (t->tv_usec + 999) / 1000);
            const int ready = ::poll(fds.data(), fds.size(), ms);
            if (ready <= 0) {
                ares_process_fd(channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
                continue;
            }
            for (const auto& f : fds) {
                const bool in = f.revents & (POLLIN | POLLERR | POLLHUP);
                const bool out = f.revents & POLLOUT;
                if (in || out)
                    ares_process_fd(channel_, in ? f.fd : ARES_SOCKET_BAD,
                                    out ? f.fd : ARES_SOCKET_BAD);
            }
        }
    }

private:
    ares_channel channel_ = nullptr;
};

pending& add(std::vector<std::unique_ptr<pending>>& list, int type, std::uint16_t port,
             std::uint16_t priority = 0, std::uint16_t weight = 0)
{
    auto& p = *list.emplace_back(std::make_unique<pending>());
    p.type = type;
    p.port = port;
    p.priority = priority;
    p.weight = weight;
    return p;
}

// The addresses of finished A/AAAA queries, or the worst failure when none gave one.
resolve_answer combine(const std::vector<std::unique_ptr<pending>>& queries,
                       std::optional<std::chrono::seconds> ttl)
{
    resolve_answer out;
    out.ttl = ttl;
    std::optional<resolve_failure> failure;
    for (const auto& p : queries) {
        auto found = p->status == ARES_SUCCESS ? addresses_of(*p) : decltype(addresses_of(*p)){};
        if (found.empty()) {
            const auto f = failure_of(p->status == ARES_SUCCESS ? ARES_ENODATA : p->status);
            failure = failure ? worse(*failure, f) : f;
            continue;
        }
        if (const auto t = smallest_ttl(p->answer)) out.ttl = out.ttl ? std::min(*out.ttl, *t) : t;
        out.addresses.insert(out.addresses.end(), found.begin(), found.end());
    }
    if (out.addresses.empty())
        return resolve_answer::failed(failure.value_or(resolve_failure::empty));
    std::ranges::sort(out.addresses, {}, [](const resolved_address& a) {
        return std::tie(a.priority, a.address, a.port);
    });
    return out;
}

resolve_answer resolve_srv(channel& ch, const dns_query& q)
{
    std::vector<std::unique_ptr<pending>> srv;
    ch.ask(q.name, add(srv, ns_t_srv, 0));
    ch.run(srv, clock::now() + ch.patience(q.timeout));
    const auto& answer = *srv.front();
    if (answer.status != ARES_SUCCESS) return resolve_answer::failed(failure_of(answer.status));
    ares_srv_reply* records = nullptr;
    const int parsed = ares_parse_srv_reply(answer.answer.data(),
                                            static_cast<int>(answer.answer.size()), &records);
    if (parsed != ARES_SUCCESS || !records) return resolve_answer::failed(failure_of(parsed));
    std::vector<std::unique_ptr<pending>> targets;
    for (auto* r = records; r; r = r->next) {
        ch.ask(r->host, add(targets, ns_t_a, r->port, r->priority, r->weight));
        ch.ask(r->host, add(targets, ns_t_aaaa, r->port, r->priority, r->weight));
    }
    ares_free_data(records);
    ch.run(targets, clock::now() + ch.patience(q.timeout));
    return combine(targets, smallest_ttl(answer.answer));
}

}  // namespace

resolve_answer resolve(const dns_query& q)
{
    try {
        channel ch(q);
        if (q.type == dns_query::kind::srv) return resolve_srv(ch, q);
        std::vector<std::unique_ptr<pending>> queries;
        ch.ask(q.name, add(queries, ns_t_a, q.port));
        ch.ask(q.name, add(queries, ns_t_aaaa, q.port));
        ch.run(queries, clock::now() + ch.patience(q.timeout));
        return combine(queries, std::nullopt);
    } catch (const std::exception&) {
        return resolve_answer::failed(resolve_failure::other);
    }
}

dns_query query_for(const config::discovery& d)
{
    dns_query q;
    q.type = d.srv.empty() ? dns_query::kind::address : dns_query::kind::srv;
    q.name = d.srv.empty() ? d.dns : d.srv;
    q.port = d.port;
    q.resolvers = d.resolvers;
    q.timeout = d.timeout;
    return q;
}

}  // namespace sluice::net
