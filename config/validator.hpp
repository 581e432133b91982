#pragma once
// Cross-field rules over a loaded model: names unique, references resolvable, numbers in range.
// Single values are checked as they are read (loader); what needs the whole picture is here.

#include "config/model.hpp"

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::config {

struct diagnostic {
    enum class severity { error, warning };
    severity level;
    std::string message;  // "FILE:LINE:COL: PATH: what is wrong; how to fix"
};

// Every finding, in file order per rule. The model's marks (root::marks, then each object's own)
// give the location; a root built in code gets messages without one. Files the config names
// (certificates, keys, CA files, spool_dir) are looked at now: `now` judges certificate expiry.
std::vector<diagnostic> validate(const root& config, std::chrono::system_clock::time_point now =
                                                         std::chrono::system_clock::now());

// "FILE:LINE:COL: PATH: message"; "FILE: PATH: message" for a default (line 0), which has no
// line to point at.
std::string located(const source_mark& where, std::string_view message);

// "; did you mean `bind`?" when a known word is a small edit away from `word`, otherwise "".
std::string did_you_mean(std::string_view word, const std::vector<std::string>& known);

}  // namespace sluice::config
