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
    std::size_t buffered = 0;

    explicit parsed(std::string_view text)
    {
        boost::system::error_code ec;
        const auto used = parser.put(boost::asio::buffer(text.data(), text.size()), ec);
        EXPECT_FALSE(ec) << ec.message();
        EXPECT_TRUE(parser.is_header_done());
        buffered = text.size() - used;
    }
};

TEST(message_parsers, a_request_without_a_body_has_nothing_to_come)
{
    parsed get{"GET / HTTP/1.1\r\nHost: a\r\n\r\n"};
    EXPECT_TRUE(holds_the_rest(get.parser, get.buffered));
    EXPECT_FALSE(body_to_come(get.parser, get.buffered));

    parsed pipelined{"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /next HTTP/1.1\r\n"};
    EXPECT_FALSE(holds_the_rest(pipelined.parser, pipelined.buffered)) << "the next one is there";
    EXPECT_FALSE(body_to_come(pipelined.parser, pipelined.buffered));
}

TEST(message_parsers, a_body_is_to_come_until_all_of_it_is_buffered)
{
    const std::string_view head = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 7\r\n\r\n";
    parsed alone{head};
    EXPECT_TRUE(body_to_come(alone.parser, alone.buffered));
    EXPECT_FALSE(holds_the_rest(alone.parser, alone.buffered));

    parsed part{std::string(head) + "a=1"};
    EXPECT_TRUE(body_to_come(part.parser, part.buffered));

    parsed whole{std::string(head) + "a=1&b=2"};
    EXPECT_FALSE(body_to_come(whole.parser, whole.buffered));
    EXPECT_TRUE(holds_the_rest(whole.parser, whole.buffered));
}

TEST(message_parsers, a_chunked_body_counts_as_to_come)
{
    parsed chunked{"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"};
    EXPECT_TRUE(body_to_come(chunked.parser, chunked.buffered)) << "its end is not counted";
    EXPECT_FALSE(holds_the_rest(chunked.parser, chunked.buffered));
}

}  // namespace
}  // namespace sluice::proxy
