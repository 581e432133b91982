#pragma once
// A message head as wire bytes, in one contiguous string: the start line, every field, and the
// blank line. The relay sends it with the first piece of the body in one write. (Beast's
// serializer builds a buffer sequence with an entry per field, which costs more to walk than the
// head costs to copy.)

#include "proxy/message_types.hpp"

#include <string>

namespace sluice::proxy {

void write_head(const request_head& h, std::string& out);
void write_head(const response_head& h, std::string& out);

}  // namespace sluice::proxy
