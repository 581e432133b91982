#pragma once
// The heads of the messages the proxy relays. Beast's fields allocate every header line on its
// own, a dozen allocations and frees for each proxied request; these allocate from an arena
// that the request owns instead (session.hpp), freed all at once when the request ends.

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>

#include <memory_resource>

namespace sluice::proxy {

namespace http = boost::beast::http;

using header_allocator = std::pmr::polymorphic_allocator<char>;
using fields = http::basic_fields<header_allocator>;
using request_head = http::request_header<fields>;
using response_head = http::response_header<fields>;

}  // namespace sluice::proxy
