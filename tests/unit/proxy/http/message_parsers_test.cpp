// What a parsed head says of the bytes still to come: the readiness shortcut at a message's end
// (holds_the_rest) and the ACK at once for a request cut short (body_to_come).

#include "proxy/http/message_parsers.hpp"

#include <gtest/gtest.h>

#include <string_view>

namespace sluice::proxy {
namespace {

// Parses the head at the start of `text`; the bytes of `text` after it are `buffered`.
struct parsed {
    relay_parser<true> parser;
    std::string rest;  // the bytes after the head
    std::size_t buffered = 0;

    explicit parsed(std::string_view text)
    {
        boost::system::error_code ec;
        const auto used = parser.put(boost::asio::buffer(text.data(), text.size()), ec);
        EXPECT_FALSE(ec) << ec.message();
        EXPECT_TRUE(parser.is_header_done());
        rest = text.substr(used);
        buffered = rest.size();
    }
};

TEST(message_parsers, a_request_without_a_body_has_nothing_to_come)
{
    parsed get{"GET / HTTP/1.1\r\nHost: a\r\n\r\n"};
    EXPECT_TRUE(holds_the_rest(get.parser, get.buffered));
    EXPECT_FALSE(body_to_come(get.parser, get.rest));

    parsed pipelined{"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /next HTTP/1.1\r\n"};
    EXPECT_FALSE(holds_the_rest(pipelined.parser, pipelined.buffered)) << "the next one is there";
    EXPECT_FALSE(body_to_come(pipelined.parser, pipelined.rest));
}

TEST(message_parsers, a_body_is_to_come_until_all_of_it_is_buffered)
{
    const std::string_view head = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 7\r\n\r\n";
    parsed alone{head};
    EXPECT_TRUE(body_to_come(alone.parser, alone.rest));
    EXPECT_FALSE(holds_the_rest(alone.parser, alone.buffered));

    parsed part{std::string(head) + "a=1"};
    EXPECT_TRUE(body_to_come(part.parser, part.rest));

    parsed whole{std::string(head) + "a=1&b=2"};
    EXPECT_FALSE(body_to_come(whole.parser, whole.rest));
    EXPECT_TRUE(holds_the_rest(whole.parser, whole.buffered));
}

TEST(message_parsers, a_chunked_body_is_to_come_until_its_last_chunk_is_buffered)
{
    const std::string head = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
    parsed alone{head};
    EXPECT_TRUE(body_to_come(alone.parser, alone.rest));
    parsed part{head + "3\r\nabc\r\n"};
    EXPECT_TRUE(body_to_come(part.parser, part.rest));
    parsed whole{head + "3\r\nabc\r\n0\r\n\r\n"};
    EXPECT_FALSE(body_to_come(whole.parser, whole.rest));
    EXPECT_FALSE(holds_the_rest(whole.parser, whole.buffered)) << "its end is not counted";
    parsed empty{head + "0\r\n\r\n"};
    EXPECT_FALSE(body_to_come(empty.parser, empty.rest));
}

}  // namespace
}  // namespace sluice::proxy
