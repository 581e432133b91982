#include "proxy/http/response_head_read.hpp"

#include <gtest/gtest.h>

#include <string_view>

namespace sluice::proxy {
namespace {

boost::system::error_code read_all(response_parser& p, std::string_view bytes)
{
    boost::beast::flat_buffer in;
    boost::asio::buffer_copy(in.prepare(bytes.size()), boost::asio::buffer(bytes));
    in.commit(bytes.size());
    return put_response_head(p, in);
}

TEST(response_head_read, a_head_in_pieces_needs_more_until_whole)
{
    constexpr std::string_view head = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n";
    for (std::size_t split = 1; split < head.size(); ++split) {
        response_parser p;
        prepare_response_parser(p, false);
        boost::beast::flat_buffer in;
        auto append = [&in](std::string_view s) {
            boost::asio::buffer_copy(in.prepare(s.size()), boost::asio::buffer(s));
            in.commit(s.size());
        };
        append(head.substr(0, split));
        EXPECT_EQ(put_response_head(p, in), http::error::need_more) << split;
        append(head.substr(split));
        EXPECT_FALSE(put_response_head(p, in)) << split;
        EXPECT_EQ(p.get().result_int(), 200u);
    }
}

// Found by tests/fuzz/response_head: "HTTP/1.1 020 OK" went to the client as "HTTP/1.1 20 OK".
TEST(response_head_read, a_status_below_100_is_not_http)
{
    for (std::string_view status : {"000", "020", "099"}) {
        response_parser p;
        prepare_response_parser(p, false);
        const auto head = "HTTP/1.1 " + std::string(status) + " OK\r\nContent-Length: 0\r\n\r\n";
        EXPECT_EQ(read_all(p, head), http::error::bad_status) << status;
    }
    for (std::string_view status : {"100", "599", "999"}) {
        response_parser p;
        prepare_response_parser(p, false);
        const auto head = "HTTP/1.1 " + std::string(status) + " OK\r\nContent-Length: 0\r\n\r\n";
        EXPECT_FALSE(read_all(p, head)) << status;
    }
}

// Found by tests/fuzz/response_head: Beast reads a short status line as a version still
// arriving, so the proxy waited for the server's timeout (504) instead of answering 502 at once.
TEST(response_head_read, a_whole_head_with_a_short_status_line_is_not_http)
{
    for (std::string_view bytes : {"\r\n\r\n", "HTTP/1.1\r\n\r\n", "HTTP/1.1 2\r\n\r\n"}) {
        response_parser p;
        prepare_response_parser(p, false);
        const auto ec = read_all(p, bytes);
        EXPECT_TRUE(ec && ec != http::error::need_more) << bytes;
    }
}

TEST(response_head_read, the_response_to_head_has_no_body)
{
    response_parser p;
    prepare_response_parser(p, true);
    EXPECT_FALSE(read_all(p, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"));
    EXPECT_TRUE(p.is_done());
}

}  // namespace
}  // namespace sluice::proxy
