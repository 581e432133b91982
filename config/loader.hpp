#pragma once
// YAML text -> validated, resolved model. Defaults are applied, server_defaults merged into each
// server, and every error in the file is reported at once with file:line:col and key path, so an
// operator fixes a config in one pass instead of one error per run.

#include "config/model.hpp"
#include "config/validator.hpp"

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::config {

// Thrown by load_* with every error found (not just the first); what() joins them by newlines.
class config_error : public std::runtime_error {
public:
    explicit config_error(std::vector<std::string> errors);
    const std::vector<std::string>& errors() const { return errors_; }

private:
    std::vector<std::string> errors_;
};

struct loaded {
    root config;
    // Accepted but worth saying: keys whose behaviour is not built yet, risky choices.
    std::vector<std::string> warnings;
};

// Throws config_error, also when the file cannot be read.
loaded load_file(const std::string& path);
// `source_name` is what messages call the text ("sluice.yaml", "<embedded default>").
loaded load_string(std::string_view yaml, const std::string& source_name);

// The config `sluice run` uses without -c: one listener, one backend at gunicorn's default port.
std::string_view default_config_yaml();

}  // namespace sluice::config
