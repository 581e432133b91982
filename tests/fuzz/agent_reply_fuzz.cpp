// The agent reply parser (health/agent_reply): one line from an agent in, a reply or nullopt.
// Beyond "no crash": an absolute weight is at most 256; what follows the first CR or LF changes
// nothing; the parse does not depend on letter case outside the reason; describe() takes any reply.

#include "health/agent_reply.hpp"
#include "tests/fuzz/property.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

using namespace sluice::health;

namespace {

std::string upper_before_reason(std::string_view line)
{
    std::string out(line);
    for (auto& c : out) {
        if (c == '#') break;
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size)
{
    const std::string_view line(reinterpret_cast<const char*>(bytes), size);
    std::string problem;
    const auto reply = parse_agent_reply(line, &problem);
    const auto first_line = line.substr(0, line.find_first_of("\r\n"));
    FUZZ_PROPERTY(parse_agent_reply(first_line, nullptr) == reply);
    const auto doubled = std::string(first_line) + "\n" + std::string(line);
    FUZZ_PROPERTY(parse_agent_reply(doubled, nullptr) == reply);
    if (!reply) {
        FUZZ_PROPERTY(!problem.empty());
        return 0;
    }
    if (reply->weight && !reply->weight->relative)  // a percentage is capped where applied
        FUZZ_PROPERTY(reply->weight->value <= agent_max_weight);
    const auto shouted = parse_agent_reply(upper_before_reason(first_line), nullptr);
    FUZZ_PROPERTY(shouted.has_value());
    auto same = *shouted;
    same.reason = reply->reason;
    FUZZ_PROPERTY(same == *reply);
    FUZZ_PROPERTY(!describe(*reply).empty() || *reply == agent_reply{});
    return 0;
}
