#include "proxy/http/hop_by_hop.hpp"
#include "proxy/http/message_head.hpp"
#include "written_head.hpp"

#include <gtest/gtest.h>

namespace sluice::proxy {
namespace {

TEST(hop_by_hop, upstream_request_gets_forwarding_headers_and_loses_hop_by_hop_ones)
{
    request_head req;
    req.method(http::verb::get);
    req.target("/a");
    req.version(10);
    for (auto [name, value] : {std::pair{"Host", "example"},
                               {"X-Forwarded-For", "10.1.2.3"},
                               {"Via", "1.0 a"},
                               {"via", "1.1 b"},
                               {"Connection", "keep-alive, X-Private"},
                               {"X-Private", "secret"},
                               {"Keep-Alive", "timeout=5"},
                               {"TE", "trailers"},
                               {"Upgrade", "h2c"},
                               {"X-Request-Id", "theirs"}})
        req.insert(name, value);
    head_edits edits;
    prepare_upstream_request(req, {"127.0.0.1", "ours", false, true}, edits);  // trusted
    const auto out = written(req, edits);
    EXPECT_EQ(out.rfind("GET /a HTTP/1.1\r\nHost: example\r\n", 0), 0u) << out;
    EXPECT_EQ(count_of(out, "X-Forwarded-For: 10.1.2.3, 127.0.0.1\r\n"), 1u) << out;
    EXPECT_EQ(count_of(out, "X-Forwarded-For"), 1u) << out;
    EXPECT_EQ(count_of(out, "Via: 1.0 a, 1.1 b, 1.1 sluice\r\n"), 1u) << out;
    EXPECT_EQ(count_of(out, "X-Forwarded-Proto: http\r\n"), 1u) << out;
    EXPECT_EQ(count_of(out, "X-Request-Id: ours\r\n"), 1u) << out;
    EXPECT_EQ(count_of(out, "theirs"), 0u) << out;
    for (auto gone : {"Connection", "X-Private", "Keep-Alive", "TE:", "Upgrade", "via:"})
        EXPECT_EQ(count_of(out, gone), 0u) << gone << " in " << out;
    EXPECT_EQ(out.substr(out.size() - 4), "\r\n\r\n");
}

// A client that is not one of trusted_proxies may not pass off an address or https: both
// headers are the proxy's own, whatever it sent.
TEST(hop_by_hop, an_untrusted_clients_forwarding_headers_are_replaced)
{
    for (std::string_view client : {"203.0.113.9", ""}) {
        request_head req;
        req.insert("X-Forwarded-For", "10.1.2.3");
        req.insert("X-Forwarded-For", "10.4.5.6");
        req.insert("X-Forwarded-Proto", "https");
        head_edits edits;
        prepare_upstream_request(req, {client, "id", false, false}, edits);
        const auto out = written(req, edits);
        EXPECT_EQ(count_of(out, "10."), 0u) << out;
        EXPECT_EQ(count_of(out, "X-Forwarded-For"), client.empty() ? 0u : 1u) << out;
        if (!client.empty()) {
            EXPECT_EQ(count_of(out, "X-Forwarded-For: 203.0.113.9\r\n"), 1u) << out;
        }
        EXPECT_EQ(count_of(out, "X-Forwarded-Proto: http\r\n"), 1u) << out;
        EXPECT_EQ(count_of(out, "https"), 0u) << out;
    }
}

TEST(hop_by_hop, upgrade_request_keeps_upgrade_and_says_so_in_connection)
{
    request_head req;
    req.insert("Upgrade", "websocket");
    req.insert("Connection", "Upgrade");
    head_edits edits;
    prepare_upstream_request(req, {"", "id", true}, edits);
    const auto out = written(req, edits);
    EXPECT_EQ(count_of(out, "Upgrade: websocket\r\n"), 1u) << out;
    EXPECT_EQ(count_of(out, "Connection: upgrade\r\n"), 1u) << out;
    EXPECT_EQ(count_of(out, "Connection"), 1u) << out;
    EXPECT_EQ(count_of(out, "X-Forwarded-For"), 0u) << "no address for a unix-socket client";
}

response_head chunked_response()
{
    response_head res;
    res.result(http::status::ok);
    res.insert("Transfer-Encoding", "chunked");
    res.insert("Connection", "keep-alive");
    return res;
}

TEST(hop_by_hop, response_to_http_1_1_stays_chunked_and_open)
{
    auto res = chunked_response();
    head_edits edits;
    EXPECT_TRUE(prepare_client_response(res, 11, true, false, true, edits));
    std::string out;
    write_head(res, edits, out);
    EXPECT_EQ(out.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << out;
    EXPECT_EQ(count_of(out, "Transfer-Encoding: chunked\r\n"), 1u) << out;
    EXPECT_EQ(count_of(out, "Via: 1.1 sluice\r\n"), 1u) << out;
    EXPECT_EQ(count_of(out, "Connection"), 0u) << out;
}

TEST(hop_by_hop, chunked_response_to_http_1_0_is_close_delimited)
{
    auto res = chunked_response();
    head_edits edits;
    EXPECT_FALSE(prepare_client_response(res, 10, true, false, true, edits));
    EXPECT_EQ(res.count(http::field::transfer_encoding), 0u) << "the relay must not frame chunks";
    std::string out;
    write_head(res, edits, out);
    EXPECT_EQ(count_of(out, "Transfer-Encoding"), 0u) << out;
    EXPECT_EQ(count_of(out, "Connection: close\r\n"), 1u) << out;
}

TEST(hop_by_hop, http_1_0_client_kept_alive_is_told_so)
{
    response_head res;
    head_edits edits;
    EXPECT_TRUE(prepare_client_response(res, 10, true, false, false, edits));
    std::string out;
    write_head(res, edits, out);
    EXPECT_EQ(count_of(out, "Connection: keep-alive\r\n"), 1u) << out;
}

}  // namespace
}  // namespace sluice::proxy
