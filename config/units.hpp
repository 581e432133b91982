#pragma once
// Text of config values -> typed values: durations, sizes, percentages, endpoints. No YAML here:
// the loader hands over scalars, so these parsers are fed plain strings by the tests.

#include "config/model.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::config {

// "250ms", "2s", "1m", "1h", "1.5s", "1m30s" (units in decreasing order), or "0". Rejects a
// missing unit, negatives, fractions of a millisecond and anything else.
std::optional<duration> parse_duration(std::string_view text);

// The shortest exact text parse_duration reads back: "250ms", "1.5s", "1m30s", "0s".
std::string format_duration(duration d);

// Bytes: "4096", "64k", "100m", "1g" (binary: k = 1024; upper case accepted).
std::optional<std::uint64_t> parse_size(std::string_view text);

// "10%" -> 10. Whole numbers only; the range is the validator's business.
std::optional<unsigned> parse_percent(std::string_view text);

// Either the endpoint or what is wrong with the text, phrased to follow it: "has no port".
struct endpoint_parse {
    std::optional<endpoint> value;
    std::string problem;
};

// "127.0.0.1:8080", "[::1]:8080", "localhost:8000" (host kept as written), "unix:/run/x.sock".
// Port 0 is accepted here; whether it is allowed depends on the key (the validator decides).
endpoint_parse parse_endpoint(std::string_view text);

}  // namespace sluice::config
