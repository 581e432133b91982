#include "proxy/http/response_head_read.hpp"

#include <string_view>

namespace sluice::proxy {

void prepare_response_parser(response_parser& p, bool head_request)
{
    p.body_limit(boost::none);
    p.header_limit(max_response_head);
    if (head_request) p.skip(true);
}

boost::system::error_code put_response_head(response_parser& p, boost::beast::flat_buffer& in)
{
    boost::system::error_code ec;
    in.consume(p.put(in.data(), ec));
    if (!ec && !p.is_header_done()) ec = http::error::need_more;
    // A blank line ends a head, yet the parser asks for more: a status line cut short (Beast
    // reads "\r\n\r\n" as the start of a version still arriving), which no more bytes can mend.
    // Said now, it is a 502 at once rather than a 504 when the server, done sending, times out.
    const std::string_view left(static_cast<const char*>(in.data().data()), in.size());
    if (ec == http::error::need_more && left.find("\r\n\r\n") != std::string_view::npos)
        ec = http::error::bad_version;
    // Beast takes any three digits; a status code is 100 to 999 (RFC 9112 4), and one below
    // would go out as one or two digits (write_head), which no client reads.
    if (!ec && p.get().result_int() < 100) ec = http::error::bad_status;
    return ec;
}

}  // namespace sluice::proxy
