#include "proxy/http/response_head_read.hpp"

namespace sluice::proxy {

void prepare_response_parser(response_parser& p, bool head_request)
{
    p.body_limit(boost::none);
    p.header_limit(max_response_head);
    if (head_request)
        p.skip(true);
}

boost::system::error_code put_response_head(response_parser& p, boost::beast::flat_buffer& in)
{
    boost::system::error_code ec;
    in.consume(p.put(in.data(), ec));
    if (!ec && !p.is_header_done())
        ec = http::error::need_more;
    return ec;
}

}  // namespace sluice::proxy
