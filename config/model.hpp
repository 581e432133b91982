#pragma once
// The configuration model of SPEC.md as plain structs: types only, no parsing, no I/O.
// The loader fills every field with its resolved value (defaults applied, server_defaults merged
// into each server), and keeps a source mark on every object so later checks can point at the
// line an operator has to edit.

#include "config/cidr.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::config {

using duration = std::chrono::milliseconds;
using namespace std::chrono_literals;

// Where an object came from: "sluice.yaml:14:9" and "backends[0].servers[1]".
struct source_mark {
    std::string file;
    int line = 0;    // 1-based; 0 = not from a file (a default)
    int column = 0;  // 1-based
    std::string path;
};

// host:port or unix:/path. host is kept literal (an IP address or "localhost"); names are
// resolved at load time, never on the request path.
struct endpoint {
    enum class kind { tcp, unix_socket };
    kind type = kind::tcp;
    std::string host;        // tcp only
    std::uint16_t port = 0;  // tcp only
    std::string path;        // unix_socket only
    std::string text;        // as written, for messages and /status
};

struct limits {
    std::uint64_t max_header = 64 * 1024;           // beyond: 431
    std::uint64_t max_body = 100ull * 1024 * 1024;  // beyond: 413
};

// The defaults agree with each other under every rule of `sluice check` (timeout_chain.cpp), for
// what an operator who ran HAProxy or NGINX in front of gunicorn expects: an LB in front with
// ELB's 60 s idle timeout; NGINX's 75 s keep-alive and 60 s body and send timeouts; a 10 s queue
// (a request waiting longer for a sync worker is better told 503 + Retry-After); server 40 s, above
// gunicorn's 30 s --timeout so the app's own kill ends a stuck request first; queue + connect +
// server = 53 s, inside the 57 s the LB leaves; drain 60 s, as long as the LB lets any request
// run, so a deploy cuts none.
struct timeouts {
    duration upstream_idle = 60s;  // idle timeout of the LB in front; 0 = none
    duration client_header = 10s;
    duration client_idle = 75s;
    duration client_body = 60s;  // longest pause between two pieces of a request body
    duration client_send = 60s;  // longest stall writing a response to a client
    duration queue = 10s;
    duration connect = 3s;
    duration server = 40s;
    duration request = 0s;  // 0 = derived from the chain
    duration tunnel = 1h;
    duration drain = 60s;
};

// A route's `timeouts:` block: only the keys it names override the global ones.
struct timeout_overrides {
    std::optional<duration> upstream_idle, client_header, client_idle, client_body, client_send,
        queue, connect, server, request, tunnel, drain;
};

// Global timeouts with a route's overrides applied.
timeouts apply(const timeouts& global, const timeout_overrides& route);

// Each timeout's YAML key with its field in both structs, so the loader, apply() and summaries
// walk one list (in chain order, client side first) instead of spelling out nine fields each.
struct timeout_field {
    std::string_view key;
    duration timeouts::*value;
    std::optional<duration> timeout_overrides::*override_value;
};
inline constexpr timeout_field timeout_fields[] = {
    {"upstream_idle", &timeouts::upstream_idle, &timeout_overrides::upstream_idle},
    {"client_header", &timeouts::client_header, &timeout_overrides::client_header},
    {"client_idle", &timeouts::client_idle, &timeout_overrides::client_idle},
    {"client_body", &timeouts::client_body, &timeout_overrides::client_body},
    {"client_send", &timeouts::client_send, &timeout_overrides::client_send},
    {"queue", &timeouts::queue, &timeout_overrides::queue},
    {"connect", &timeouts::connect, &timeout_overrides::connect},
    {"server", &timeouts::server, &timeout_overrides::server},
    {"request", &timeouts::request, &timeout_overrides::request},
    {"tunnel", &timeouts::tunnel, &timeout_overrides::tunnel},
    {"drain", &timeouts::drain, &timeout_overrides::drain},
};

struct route_match {
    std::string path_prefix;  // "" = any
    std::string host;         // "" = any; compared case-insensitively, without the port
    std::string method;       // "" = any; exact, upper case
};

struct route {
    route_match match;
    std::string backend;
    timeout_overrides timeouts;
    source_mark mark;
};

// Whether every connection to a listener starts with a PROXY protocol header, and which versions.
enum class proxy_protocol { off, v1, v2, any };

// One certificate a TLS listener offers: PEM files, the certificate possibly followed by its chain.
// The loader stores the paths resolved against the config file's directory.
struct tls_certificate {
    std::string cert;
    std::string key;
    source_mark mark;
};

enum class tls_version { v1_2, v1_3 };

// TLS on a listener. The first certificate is the default; the others are picked by SNI.
struct listener_tls {
    std::vector<tls_certificate> certificates;
    tls_version min_version = tls_version::v1_2;
    // "intermediate" (Mozilla's intermediate profile), "modern" (TLS 1.3 only) or an OpenSSL
    // cipher string for TLS 1.2.
    std::string ciphers = "intermediate";
    std::vector<std::string> alpn{"http/1.1"};
    source_mark mark;
};

struct listener {
    std::string name;
    endpoint bind;
    std::uint64_t max_connections = 10000;
    struct limits limits;
    std::vector<route> routes;
    std::string default_backend;
    enum proxy_protocol proxy_protocol = proxy_protocol::off;
    // Clients (after a PROXY header: the address it carries) whose X-Forwarded-For and
    // X-Forwarded-Proto are kept and appended to; from any other they are replaced.
    std::vector<cidr> trusted_proxies;
    std::optional<listener_tls> tls;  // absent: plain HTTP
    // TCP only: the kernel hands over a connection once its first bytes have arrived (Linux
    // TCP_DEFER_ACCEPT, HAProxy's defer-accept, NGINX's deferred), so a new connection is read
    // and served at once. A client that connects and stays silent is accepted after about a
    // second all the same.
    bool defer_accept = true;
    source_mark mark;
};

// Whether the listener's socket holds connections until their first bytes: defer_accept on a
// TCP listener (the option does not exist for unix sockets).
inline bool defers_accept(const listener& l)
{
    return l.defer_accept && l.bind.type == endpoint::kind::tcp;
}

struct admin {
    endpoint bind{endpoint::kind::tcp, "127.0.0.1", 9090, "", "127.0.0.1:9090"};
    duration busy_hold = 1s;
    duration drain_notice = 0s;
    // As written ("" = none); a relative path is taken from the config file's directory.
    std::string token_file;
    // The file's content without surrounding white space, read by the loader (so a reload
    // re-reads it); "" without a token_file. A secret: never logged, never in /status.
    std::string token;
    source_mark mark;
};

enum class protocol { http, uwsgi };
enum class balance { roundrobin, leastconn, random2 };

// TLS to a server. The loader stores `ca` resolved against the config file's directory.
struct server_tls {
    std::string sni;  // "" = the host of the server's address
    std::string ca;   // "" = the system's store
    bool verify = true;
    source_mark mark;
};

struct server {
    std::string name;
    endpoint address;
    unsigned weight = 1;
    unsigned max_connections = 0;  // 0 = no limit, no queueing
    // The app server's own idle and request timeouts. `*_declared` says whether the operator
    // wrote them (here or in server_defaults); undeclared keepalive_timeout is taken as 2 s.
    duration keepalive_timeout = 2s;
    bool keepalive_timeout_declared = false;
    std::optional<duration> worker_timeout;
    std::optional<std::uint16_t> agent_port;
    std::optional<server_tls> tls;
    // Sent first on every new connection: the client's address (off, v1 or v2; never any). A
    // pooled connection is then reused only for the same client address.
    enum proxy_protocol proxy_protocol = proxy_protocol::off;
    // Found by the backend's discovery (server_defaults plus the answer), not written in the file.
    bool discovered = false;
    source_mark mark;
};

struct health_http {
    std::string method = "GET";
    std::string path = "/healthz";
    std::vector<unsigned> expect_status{200};
    std::vector<unsigned> busy_status{503};
    std::string host;  // "" = the server's address
};

struct health {
    std::optional<health_http> http;  // absent: a TCP connect check
    std::optional<std::uint16_t> agent_port;
    duration interval = 2s;
    unsigned jitter_percent = 10;
    duration timeout = 1s;
    unsigned rise = 2;
    unsigned fall = 3;
    source_mark mark;
};

struct passive {
    unsigned consecutive_failures = 5;  // 0 = passive checks off
    duration ejection = 30s;
    unsigned max_ejected_percent = 50;
};

struct retries {
    unsigned attempts = 1;
    bool on_connect_failure = true;
    bool on_empty_response = true;
};

struct keepalive {
    std::size_t max_idle = 32;
    duration idle_timeout = 1600ms;  // default: 80 % of the shortest server keepalive_timeout
    bool idle_timeout_declared = false;
};

// A sync worker must not wait on a slow client: with buffering, a request body is read whole
// before the request asks for a slot, and a response is read as fast as the server sends it, the
// slot freed at its last byte. The loader resolves request and response: undeclared, they are on
// when any server has max_connections (a worker count to protect).
struct buffering {
    bool request = false;
    bool response = false;
    std::uint64_t memory = 1024 * 1024;  // per request and direction; beyond it, a spool file
    std::string spool_dir;               // "" = $TMPDIR or /tmp
    std::uint64_t max_spool = 1024ull * 1024 * 1024;  // beyond: 413, or a response streamed
};

// Servers found by DNS (SPEC.md "Servers found by DNS"): either `dns` (A and AAAA records, one
// server per address on `port`) or `srv` (targets, ports and weights from SRV records). Each
// server found is named ADDRESS:PORT and gets the backend's server_defaults.
struct discovery {
    std::string dns;  // "" with srv
    std::uint16_t port = 0;
    std::string srv;  // "" with dns
    // Re-resolved this often, sooner when the records' TTL is shorter (never under 1 s).
    duration interval = 5s;
    // IP address and port of each name server; empty = the nameservers of /etc/resolv.conf.
    std::vector<endpoint> resolvers;
    duration timeout = 2s;  // a resolver silent this long: a failed resolution
    std::size_t max_servers = 256;
    source_mark mark;
};

struct backend {
    std::string name;
    enum protocol protocol = protocol::http;
    enum balance balance = balance::leastconn;
    std::size_t queue_max_length = 1000;
    struct retries retries;
    struct keepalive keepalive;
    std::vector<server> servers;  // server_defaults already merged in
    // What a server found by discovery gets (name and address are filled in when it is found).
    server server_defaults;
    std::optional<struct discovery> discovery;  // absent: the static servers only
    std::optional<struct health> health;        // absent: no active checks, servers stay up
    struct passive passive;
    duration slow_start = 0s;
    struct buffering buffering;
    std::string deadline_header = "X-Request-Timeout-Ms";  // "" = off
    source_mark mark;
};

// Several sluice instances (SPEC.md "Several sluice instances").
// The other instances of an edge tier, counted by the addresses a name resolves to.
struct scale_out_peers {
    std::string dns;
    duration interval = 5s;
    std::vector<endpoint> resolvers;  // empty = the nameservers of /etc/resolv.conf
    source_mark mark;
};

struct scale_out {
    std::optional<scale_out_peers> peers;  // absent: this instance is alone (N = 1)
    // Sent as "1" on a 503 the proxy made before anything of the request reached an app, and
    // honoured on a 503 from a server (another sluice): that request is retried elsewhere
    // whatever its method. "" = neither sent nor honoured.
    std::string not_processed_header = "X-Sluice-Not-Processed";
};

struct access_log {
    enum class kind { stdout_stream, off, file };
    kind type = kind::stdout_stream;
    std::string path;  // file only
};

struct root {
    unsigned threads = 0;  // 0 = auto: one per core
    // Plain sockets' reads and sends batched through io_uring (net/io_ring.hpp) where the
    // kernel allows one ("auto", the default); "off" makes each its own system call.
    bool io_uring = true;
    // Response bodies of 64 KiB and more, between plain sockets and not buffered, moved by
    // splice(2) through a pipe (net/splice_pipe.hpp) where the kernel allows ("auto", the
    // default); "off" copies them through the proxy's buffers.
    bool splice = true;
    struct access_log access_log;
    std::vector<listener> listeners;
    struct admin admin;
    struct timeouts timeouts;
    std::vector<backend> backends;
    struct scale_out scale_out;
    std::string source;  // file name, or "<embedded default>"
    // Where each key the file sets was written, by key path ("backends[0].servers[1].weight"),
    // so cross-field checks can point at the exact line. Empty for a root built in code.
    std::map<std::string, source_mark, std::less<>> marks;

    const backend* find_backend(const std::string& name) const;
};

}  // namespace sluice::config
