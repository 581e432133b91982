// The config loader and validator: YAML in, a loaded config or config_error out. Never a crash,
// never another exception (yaml-cpp's own, std::out_of_range from a number, ...): `sluice run`
// and `sluice check` print config_error and stop, anything else escapes as a crash. A loaded
// config also goes through `sluice check`'s timeout chain, which reads every value.

#include "config/loader.hpp"
#include "config/timeout_chain.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size)
{
    const std::string_view yaml(reinterpret_cast<const char*>(bytes), size);
    try {
        const auto loaded = sluice::config::load_string(yaml, "fuzz.yaml");
        const auto report = sluice::config::analyze_timeouts(loaded.config);
        (void)sluice::config::format_table(report);
    } catch (const sluice::config::config_error& e) {
        if (e.errors().empty()) std::abort();  // an error with nothing to tell the operator
    }
    return 0;
}
