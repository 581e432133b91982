#include "health/check_failure.hpp"

#include <gtest/gtest.h>

namespace sluice::health {
namespace {

using config::protocol;
using namespace std::string_literals;

TEST(check_failure, an_http_backend_closed_unanswered_suggests_uwsgi)
{
    EXPECT_EQ(closed_without_answer(protocol::http),
              "the server closed the connection without answering; if it is a uWSGI socket "
              "(`socket` / `uwsgi-socket`), set `protocol: uwsgi` on the backend");
}

TEST(check_failure, a_uwsgi_backend_answering_garbage_suggests_http)
{
    auto text = not_an_http_answer(protocol::uwsgi, "garbage\r\n");
    EXPECT_EQ(text.substr(0, 51), R"(answered "garbage\x0d\x0a", which is not an HTTP re)");
    EXPECT_NE(text.find("set `protocol: http`"), std::string::npos) << text;
    EXPECT_EQ(text.find("protocol: uwsgi"), std::string::npos) << text;
    EXPECT_NE(closed_without_answer(protocol::uwsgi).find("set `protocol: http`"),
              std::string::npos);
}

TEST(check_failure, bytes_are_shown_printable_and_at_most_24)
{
    struct row {
        std::string in, out;
    };
    for (const auto& [in, out] :
         {row{"", R"("")"}, row{"\x00\x10\x00\x00garbage!"s, R"("\x00\x10\x00\x00garbage!")"},
          row{std::string(30, 'a'), '"' + std::string(24, 'a') + '"'},
          row{"\x7f\xff", R"("\x7f\xff")"}})
        EXPECT_EQ(printable_bytes(in), out);
}

}  // namespace
}  // namespace sluice::health
