#include "proxy/backend/edge_share.hpp"

#include <gtest/gtest.h>

namespace sluice::proxy {
namespace {

TEST(edge_share, each_instance_allows_its_rounded_up_share)
{
    EXPECT_EQ(edge_share(4, 1), 4u);
    EXPECT_EQ(edge_share(4, 2), 2u);
    EXPECT_EQ(edge_share(4, 3), 2u);  // 3 instances x 2 = 6: approximate, as the spec says
    EXPECT_EQ(edge_share(4, 4), 1u);
    EXPECT_EQ(edge_share(4, 9), 1u);  // never below one: a server always takes something
    EXPECT_EQ(edge_share(9, 2), 5u);
}

TEST(edge_share, no_limit_and_no_peer_set_change_nothing)
{
    EXPECT_EQ(edge_share(0, 3), 0u);  // max_connections 0: no limit, whatever N is
    EXPECT_EQ(edge_share(4, 0), 4u);  // no peers known yet: this instance alone
}

}  // namespace
}  // namespace sluice::proxy
