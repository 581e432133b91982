#include "proxy/backend/router.hpp"

#include <gtest/gtest.h>

namespace sluice::proxy {
namespace {

config::route make_route(std::string prefix, std::string host, std::string method,
                         std::string backend)
{
    config::route r;
    r.match = {std::move(prefix), std::move(host), std::move(method)};
    r.backend = std::move(backend);
    return r;
}

config::listener make_listener()
{
    config::listener l;
    l.default_backend = "app";
    l.routes = {
        make_route("/deploy", "ops.example.com", "POST", "deployer"),  // 0
        make_route("/static/", "", "", "assets"),                      // 1
        make_route("", "Admin.Example.com", "", "admin"),              // 2
        make_route("/api", "", "GET", "api_read"),                     // 3
        make_route("/api", "", "", "api_write"),                       // 4
        make_route("", "[::1]", "", "local"),                          // 5
    };
    return l;
}

TEST(router, first_route_whose_every_given_field_matches_wins)
{
    struct row {
        const char* method;
        const char* host;
        const char* target;
        int route;  // -1 = default backend
    };
    const row rows[] = {
        {"POST", "ops.example.com", "/deploy", 0},
        {"POST", "ops.example.com:8080", "/deploy/now", 0},  // port ignored
        {"POST", "OPS.Example.COM", "/deploy", 0},           // host case ignored
        {"POST", "ops.example.com.", "/deploy", 0},          // trailing dot ignored
        {"POST", "ops.example.com", "/deploy?x=1", 0},       // query ignored
        {"POST", "ops.example.com", "/deployment", 0},       // a literal prefix
        {"GET", "ops.example.com", "/deploy", -1},           // method mismatch
        {"post", "ops.example.com", "/deploy", -1},          // method is exact
        {"POST", "other.example.com", "/deploy", -1},        // host mismatch
        {"POST", "ops.example.com.evil", "/deploy", -1},
        {"POST", "ops.example.co", "/deploy", -1},
        {"POST", "ops.example.com", "/Deploy", -1},   // path is case-sensitive
        {"POST", "ops.example.com", "/dep?loy", -1},  // prefix not met before '?'
        {"GET", "x", "/static/app.js", 1},
        {"GET", "x", "/static", -1},
        {"GET", "x", "/index?p=/static/", -1},  // query never matches a path
        {"GET", "admin.example.com:9000", "/anything", 2},
        {"DELETE", "ADMIN.EXAMPLE.COM", "/", 2},
        {"GET", "admin.example.com", "/static/x", 1},  // earlier route wins
        {"GET", "x", "/api/users?id=1", 3},
        {"PUT", "x", "/api/users", 4},
        {"GET", "x", "http://x/api/v1?q", 3},  // absolute-form target
        {"GET", "x", "http://x", -1},
        {"GET", "[::1]:8080", "/", 5},
        {"GET", "[::1]", "/", 5},
        {"GET", "", "/", -1},  // no Host header
        {"GET", "x", "", -1},
    };
    const auto listener = make_listener();
    const router r{listener};
    for (const auto& row : rows) {
        const request_head_view head{row.method, row.host, row.target};
        SCOPED_TRACE(testing::Message() << row.method << " " << row.host << " " << row.target);
        const auto* matched = r.match(head);
        if (row.route < 0) {
            EXPECT_EQ(matched, nullptr);
            EXPECT_EQ(r.backend_for(head), "app");
        } else {
            EXPECT_EQ(matched, &listener.routes[row.route]);
            EXPECT_EQ(r.backend_for(head), listener.routes[row.route].backend);
        }
    }
}

TEST(router, no_routes_means_the_default_backend)
{
    config::listener listener;
    listener.default_backend = "app";
    const router r{listener};
    const request_head_view head{"GET", "example.com", "/"};
    EXPECT_EQ(r.match(head), nullptr);
    EXPECT_EQ(r.backend_for(head), "app");
}

TEST(router, a_route_with_no_fields_matches_everything)
{
    auto listener = make_listener();
    listener.routes.insert(listener.routes.begin(), make_route("", "", "", "catch_all"));
    const router r{listener};
    EXPECT_EQ(r.backend_for({"POST", "ops.example.com", "/deploy"}), "catch_all");
    EXPECT_EQ(r.backend_for({"GET", "", ""}), "catch_all");
}

}  // namespace
}  // namespace sluice::proxy
