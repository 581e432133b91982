#pragma once
// What a failed check saw, in the words of the log line and /status, with the protocol hint a
// misconfiguration needs (SPEC.md "Protocol mismatch", "Checks speak the backend's protocol"):
// an HTTP check against a uWSGI `socket` gets the connection closed unanswered (uWSGI logs
// "invalid request block size" and drops it), and an HTTP server sent a uwsgi packet answers
// nothing or something that is not HTTP. The session's 502 hint says the same for requests.
// Pure: the checker hands over the bytes it read.

#include "config/model.hpp"

#include <string>
#include <string_view>

namespace sluice::health {

// The connection closed before any byte of an answer.
std::string closed_without_answer(config::protocol p);
// The answer `seen` (its first bytes) does not parse as an HTTP response head.
std::string not_an_http_answer(config::protocol p, std::string_view seen);
// Up to 24 bytes, quoted, non-printable ones as \xNN: "\"\x00\x10garbage\"".
std::string printable_bytes(std::string_view data);

}  // namespace sluice::health
