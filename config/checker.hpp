#pragma once
// Private to the validator (validator.cpp, validator_tls.cpp): where a finding is placed. Each
// is put at the mark the loader recorded for its key path, or at the object that holds the key
// when the value is a default (nothing was written to point at).

#include "config/model.hpp"
#include "config/validator.hpp"

#include <chrono>
#include <string_view>
#include <vector>

namespace sluice::config {

class checker {
public:
    explicit checker(const root& config) : config_(config) {}

    void error(const source_mark& object, std::string_view key, std::string_view what)
    {
        add(diagnostic::severity::error, object, key, what);
    }
    void warning(const source_mark& object, std::string_view key, std::string_view what)
    {
        add(diagnostic::severity::warning, object, key, what);
    }
    std::vector<diagnostic> take() { return std::move(found_); }

private:
    void add(diagnostic::severity level, const source_mark& object, std::string_view key,
             std::string_view what)
    {
        auto path = object.path;
        if (!key.empty() && !path.empty()) path += '.';
        path += key;
        auto at = config_.marks.find(path);
        source_mark where = object;
        if (at != config_.marks.end())
            where = at->second;
        else
            where.path = path;
        found_.push_back({level, located(where, what)});
    }

    const root& config_;
    std::vector<diagnostic> found_;
};

// validator_tls.cpp: TLS and PROXY protocol settings of listeners and servers, and the files
// they name (read now, so a reload with a broken certificate is refused).
void check_tls(checker& c, const root& config, std::chrono::system_clock::time_point now);

// validator_discovery.cpp: backends[].discovery and scale_out.peers.
void check_discovery(checker& c, const root& config);

}  // namespace sluice::config
