#pragma once
// A request the proxy must refuse itself: sent raw on a fresh connection to a proxy with
// `limits: { max_header: 4k, max_body: 1k }`, it must get `status`, an access-log line with
// `reason`, a closed connection, and the proxy must serve the next client normally.

#include <ostream>
#include <string>

namespace sluice::test {

struct refusal_case {
    const char* name;
    std::string bytes;
    int status;
    const char* reason;
    bool may_reach_app = false;  // the head is valid, so the proxy may forward it before the body
};

inline void PrintTo(const refusal_case& c, std::ostream* out) { *out << c.name; }

// Runs one case with gtest expectations.
void expect_refused(const refusal_case& c);

}  // namespace sluice::test
