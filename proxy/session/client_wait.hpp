#pragma once
// Between exchanges: how a client connection waits for its next request, from the cheapest per
// request to the cheapest per idle connection. Hot, with a read in the session's own coroutine
// (a connection in steady use); in Asio's reactor (a new connection, whose request is on its
// way); or set aside in the worker's idle_set, its socket alone and out of the reactor (one that
// has gone quiet). A wait that ends with bytes serves them (client_session.cpp, serve).
// Internal to the session.

#include "proxy/runtime/deadline_sweeper.hpp"

#include <chrono>
#include <memory>

namespace sluice::proxy {

struct client_connection;

// How long a connection in steady use waits for its next request with a read before it falls
// back to the light wait.
constexpr clock::duration hot_period = std::chrono::seconds(1);

enum class hot_wait { data, quiet, closed };

// Waits for the next request with a read into the connection's buffer, in this coroutine: no
// epoll_ctl and no new coroutine per request, which the light wait costs. Holds the buffer and
// the coroutine meanwhile, so only connections in steady use wait this way, and for at most
// hot_period: `quiet` then says to fall back to the light wait.
awaitable<hot_wait> wait_hot(client_connection& c, clock::duration idle);

// A new connection waits for its first request in Asio's reactor: the request is on its way
// (right behind the TLS handshake or the PROXY header, or just not there at accept), and moving
// the socket to the idle_set would cost more epoll_ctl than the wait.
void wait_idle(std::unique_ptr<client_connection> c, clock::duration idle);

// A keep-alive connection that has served a request and gone quiet waits in the worker's
// idle_set, out of Asio's reactor, so that thousands of idle clients cost little memory.
void wait_quiet(std::unique_ptr<client_connection> c, clock::duration idle);

}  // namespace sluice::proxy
