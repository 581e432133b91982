#include "proxy/http/uwsgi_request.hpp"

#include <gtest/gtest.h>

#include <map>

namespace sluice::proxy {
namespace {

using namespace std::string_literals;
using vars = std::vector<std::pair<std::string, std::string>>;

uwsgi_head_input get(std::string_view target)
{
    return {.method = "GET",
            .target = target,
            .version = "HTTP/1.1",
            .remote_addr = "127.0.0.1",
            .remote_port = "5000",
            .server_name = "localhost",
            .server_port = "8080",
            .server_protocol_scheme = "http"};
}

// The test's own reading of a packet, so tables can name vars instead of bytes.
vars decode(std::string_view packet)
{
    auto le16 = [&](std::size_t at) {
        return static_cast<unsigned char>(packet.at(at)) |
               static_cast<std::size_t>(static_cast<unsigned char>(packet.at(at + 1))) << 8;
    };
    EXPECT_EQ(packet.at(0), '\0');
    EXPECT_EQ(packet.at(3), '\0');
    EXPECT_EQ(le16(1), packet.size() - 4) << "datasize is the vars block";
    vars out;
    for (std::size_t at = 4; at < packet.size();) {
        auto key_size = le16(at);
        auto key = std::string(packet.substr(at + 2, key_size));
        at += 2 + key_size;
        auto value_size = le16(at);
        out.emplace_back(key, std::string(packet.substr(at + 2, value_size)));
        at += 2 + value_size;
    }
    return out;
}

std::map<std::string, std::string> var_map(const uwsgi_head_input& in)
{
    auto v = decode(encode_uwsgi_request(in).packet);
    return {v.begin(), v.end()};
}

TEST(uwsgi_request, get_with_host_is_encoded_byte_for_byte)
{
    auto in = get("/");
    in.headers = {{"Host", "localhost:8080"}};
    // One uwsgi var a line: name size, name, value size, value.
    // clang-format off
    auto expected =
        "\x00\x08\x01\x00"  // modifier1 0, datasize 264 little-endian, modifier2 0
        "\x0e\x00" "REQUEST_METHOD" "\x03\x00" "GET"
        "\x0b\x00" "REQUEST_URI" "\x01\x00" "/"
        "\x09\x00" "PATH_INFO" "\x01\x00" "/"
        "\x0c\x00" "QUERY_STRING" "\x00\x00"
        "\x0f\x00" "SERVER_PROTOCOL" "\x08\x00" "HTTP/1.1"
        "\x0b\x00" "REMOTE_ADDR" "\x09\x00" "127.0.0.1"
        "\x0b\x00" "REMOTE_PORT" "\x04\x00" "5000"
        "\x0b\x00" "SERVER_NAME" "\x09\x00" "localhost"
        "\x0b\x00" "SERVER_PORT" "\x04\x00" "8080"
        "\x0e\x00" "REQUEST_SCHEME" "\x04\x00" "http"
        "\x0c\x00" "UWSGI_SCHEME" "\x04\x00" "http"
        "\x0b\x00" "SCRIPT_NAME" "\x00\x00"
        "\x09\x00" "HTTP_HOST" "\x0e\x00" "localhost:8080"s;
    // clang-format on
    auto out = encode_uwsgi_request(in);
    EXPECT_EQ(out.error, "");
    EXPECT_EQ(out.packet, expected);
}

TEST(uwsgi_request, post_over_https_is_encoded_byte_for_byte)
{
    uwsgi_head_input in{.method = "POST",
                        .target = "/a%20b?x=1&y",
                        .version = "HTTP/1.0",
                        .headers = {{"Content-Type", "text/plain"}, {"Content-Length", "5"}},
                        .remote_addr = "::1",
                        .remote_port = "1",
                        .server_name = "s",
                        .server_port = "443",
                        .server_protocol_scheme = "https",
                        .content_length = 5};
    // One uwsgi var a line: name size, name, value size, value.
    // clang-format off
    auto expected =
        "\x00\x29\x01\x00"  // datasize 297
        "\x0e\x00" "REQUEST_METHOD" "\x04\x00" "POST"
        "\x0b\x00" "REQUEST_URI" "\x0c\x00" "/a%20b?x=1&y"
        "\x09\x00" "PATH_INFO" "\x04\x00" "/a b"
        "\x0c\x00" "QUERY_STRING" "\x05\x00" "x=1&y"
        "\x0f\x00" "SERVER_PROTOCOL" "\x08\x00" "HTTP/1.0"
        "\x0e\x00" "CONTENT_LENGTH" "\x01\x00" "5"
        "\x0b\x00" "REMOTE_ADDR" "\x03\x00" "::1"
        "\x0b\x00" "REMOTE_PORT" "\x01\x00" "1"
        "\x0b\x00" "SERVER_NAME" "\x01\x00" "s"
        "\x0b\x00" "SERVER_PORT" "\x03\x00" "443"
        "\x0e\x00" "REQUEST_SCHEME" "\x05\x00" "https"
        "\x0c\x00" "UWSGI_SCHEME" "\x05\x00" "https"
        "\x05\x00" "HTTPS" "\x02\x00" "on"
        "\x0b\x00" "SCRIPT_NAME" "\x00\x00"
        "\x0c\x00" "CONTENT_TYPE" "\x0a\x00" "text/plain"s;
    // clang-format on
    EXPECT_EQ(encode_uwsgi_request(in).packet, expected);
}

TEST(uwsgi_request, headers_map_to_cgi_names)
{
    struct row {
        std::string_view header;
        std::string var;  // "" = not passed to the app
    };
    for (const auto& [header, var] : std::vector<row>{
             {"Host", "HTTP_HOST"},
             {"user-agent", "HTTP_USER_AGENT"},
             {"X-Forwarded-For", "HTTP_X_FORWARDED_FOR"},
             {"X-B3-TraceId", "HTTP_X_B3_TRACEID"},
             {"content-type", "CONTENT_TYPE"},
             {"Content-Length", ""},     // CONTENT_LENGTH comes from content_length only
             {"Transfer-Encoding", ""},  // the uwsgi body is never chunked
             {"X_Forwarded_For", ""},    // would spoof HTTP_X_FORWARDED_FOR
             {"X.Dot", ""},
             {"", ""},
         }) {
        auto in = get("/");
        in.headers = {{header, "v"}};
        auto decoded = decode(encode_uwsgi_request(in).packet);
        auto fixed = decode(encode_uwsgi_request(get("/")).packet);
        if (var.empty()) {
            EXPECT_EQ(decoded, fixed) << header;
            continue;
        }
        ASSERT_EQ(decoded.size(), fixed.size() + 1) << header;
        EXPECT_EQ(decoded.back(), (std::pair{var, "v"s})) << header;
    }
}

TEST(uwsgi_request, repeated_headers_become_one_var_in_the_first_ones_place)
{
    auto in = get("/");
    in.headers = {{"Accept", "a"}, {"Cookie", "c=1"}, {"X-Id", "1"},
                  {"accept", "b"}, {"COOKIE", "d=2"}, {"Accept", ""}};
    auto decoded = decode(encode_uwsgi_request(in).packet);
    vars headers(decoded.end() - 3, decoded.end());
    EXPECT_EQ(headers,
              (vars{{"HTTP_ACCEPT", "a, b, "}, {"HTTP_COOKIE", "c=1; d=2"}, {"HTTP_X_ID", "1"}}));
}

TEST(uwsgi_request, target_splits_into_decoded_path_and_raw_query)
{
    struct row {
        std::string_view target;
        std::string path, query;
    };
    for (const auto& [target, path, query] : std::vector<row>{
             {"/", "/", ""},
             {"/p?q=1", "/p", "q=1"},
             {"/p?", "/p", ""},
             {"/p?a=%20&b=c?d", "/p", "a=%20&b=c?d"},  // the query stays encoded, as in CGI
             {"/%70ath%2Fx?q", "/path/x", "q"},
             {"*", "*", ""},
         }) {
        auto v = var_map(get(target));
        EXPECT_EQ(v["REQUEST_URI"], target);
        EXPECT_EQ(v["PATH_INFO"], path) << target;
        EXPECT_EQ(v["QUERY_STRING"], query) << target;
    }
}

TEST(uwsgi_request, percent_decoding_keeps_malformed_escapes)
{
    struct row {
        std::string_view in;
        std::string out;
    };
    for (const auto& [in, out] : std::vector<row>{
             {"", ""},
             {"/a%41%62", "/aAb"},
             {"%e2%82%AC", "\xe2\x82\xac"},
             {"a+b", "a+b"},
             {"%", "%"},
             {"%4", "%4"},
             {"%zz%41", "%zzA"},
             {"%%41", "%A"},
             {"x%2", "x%2"},
             {"%00", "\0"s},
         })
        EXPECT_EQ(percent_decode(in), out) << in;
}

TEST(uwsgi_request, empty_values_are_sent_with_size_zero)
{
    auto in = get("/");
    in.method = "";
    in.remote_port = "";
    in.headers = {{"X-Empty", ""}};
    in.content_length = 0;
    auto v = var_map(in);
    EXPECT_EQ(v.at("REQUEST_METHOD"), "");
    EXPECT_EQ(v.at("REMOTE_PORT"), "");
    EXPECT_EQ(v.at("HTTP_X_EMPTY"), "");
    EXPECT_EQ(v.at("CONTENT_LENGTH"), "0");
    EXPECT_EQ(v.at("SCRIPT_NAME"), "");
    EXPECT_FALSE(v.contains("HTTPS"));
    EXPECT_FALSE(v.contains("CONTENT_TYPE"));
}

TEST(uwsgi_request, unknown_length_omits_content_length)
{
    EXPECT_FALSE(var_map(get("/")).contains("CONTENT_LENGTH"));
}

TEST(uwsgi_request, vars_block_is_limited_to_65535_bytes)
{
    auto base = encode_uwsgi_request(get("/")).packet.size() - 4;
    auto header_overhead = 4 + std::string_view("HTTP_X").size();
    std::string value(65535 - base - header_overhead, 'v');
    auto in = get("/");
    in.headers = {{"X", value}};
    auto fits = encode_uwsgi_request(in);
    EXPECT_EQ(fits.error, "");
    EXPECT_EQ(fits.packet.size(), 4u + 65535);
    EXPECT_EQ(fits.packet.substr(0, 4), "\x00\xff\xff\x00"s);

    value += 'v';
    in.headers = {{"X", value}};
    auto over = encode_uwsgi_request(in);
    EXPECT_EQ(over.packet, "");
    EXPECT_NE(over.error.find("65536"), std::string::npos) << over.error;
    EXPECT_NE(over.error.find("65535"), std::string::npos) << over.error;
}

TEST(uwsgi_request, huge_single_header_is_refused_not_truncated)
{
    auto in = get("/");
    std::string value(200'000, 'v');
    in.headers = {{"X", value}};
    auto out = encode_uwsgi_request(in);
    EXPECT_EQ(out.packet, "");
    EXPECT_NE(out.error, "");
}

}  // namespace
}  // namespace sluice::proxy
