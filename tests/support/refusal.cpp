#include "support/refusal.hpp"

#include "support/http_client.hpp"
#include "support/proxy_config.hpp"
#include "support/scripted_backend.hpp"
#include "support/sluice_process.hpp"

#include <gtest/gtest.h>

namespace sluice::test {

void expect_refused(const refusal_case& c)
{
    scripted_backend app;
    sluice_process proxy{config_for(app).limits("{ max_header: 4k, max_body: 1k }")};
    connection client{proxy.port()};
    ASSERT_TRUE(client.send_raw(c.bytes));
    auto r = client.read_response(false, true, 5s);
    EXPECT_EQ(r.status, c.status) << r.error;
    EXPECT_TRUE(client.wait_closed(5s)) << "the connection stayed open";

    auto log = proxy.wait_access_log(1);
    ASSERT_EQ(log.size(), 1u) << proxy.stderr_text();
    EXPECT_EQ(log[0].number("status"), c.status) << log[0].text();
    EXPECT_EQ(log[0]["reason"], c.reason) << log[0].text();
    if (!c.may_reach_app) {
        EXPECT_EQ(app.request_count(), 0u) << "the app saw a request it must not see";
    }

    auto after = http_get(proxy.port(), "/after");
    EXPECT_EQ(after.status, 200) << after.error;
}

}  // namespace sluice::test
