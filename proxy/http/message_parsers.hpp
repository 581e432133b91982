#pragma once
// The parsers the proxy reads relayed messages with: the body streams through a buffer_body
// (never held whole), the head lives on the request's arena (message_types.hpp).

#include "proxy/http/message_types.hpp"

#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>

namespace sluice::proxy {

template <bool IsRequest>
using relay_parser = http::parser<IsRequest, http::buffer_body, header_allocator>;
using request_parser = relay_parser<true>;
using response_parser = relay_parser<false>;

}  // namespace sluice::proxy
