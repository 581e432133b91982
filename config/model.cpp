#include "config/model.hpp"

namespace sluice::config {

timeouts apply(const timeouts& global, const timeout_overrides& route)
{
    timeouts result = global;
    for (const auto& field : timeout_fields) {
        if (const auto& value = route.*field.override_value) result.*field.value = *value;
    }
    return result;
}

const backend* root::find_backend(const std::string& name) const
{
    for (const auto& b : backends) {
        if (b.name == name) return &b;
    }
    return nullptr;
}

}  // namespace sluice::config
