#pragma once
// A message head as wire bytes, in one contiguous string: the start line, every field, and the
// blank line. The relay sends it with the first piece of the body in one write. (Beast's
// serializer builds a buffer sequence with an entry per field, which costs more to walk than the
// head costs to copy.)

#include "proxy/http/head_edits.hpp"
#include "proxy/http/message_types.hpp"

#include <string>

namespace sluice::proxy {

// The fields `edits` leaves out are not written; its lines follow the others.
void write_head(const request_head& h, const head_edits& edits, std::string& out);
void write_head(const response_head& h, const head_edits& edits, std::string& out);

}  // namespace sluice::proxy
