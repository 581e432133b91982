#include "proxy/backend/membership.hpp"

#include <gtest/gtest.h>

namespace sluice::proxy {
namespace {

using namespace std::chrono_literals;

resolve_answer answer(std::vector<resolved_address> addresses,
                      std::optional<std::chrono::seconds> ttl = 30s)
{
    return {std::move(addresses), ttl, std::nullopt};
}

std::vector<std::string> names(const std::vector<discovered_server>& servers)
{
    std::vector<std::string> out;
    for (const auto& s : servers) out.push_back(s.name);
    return out;
}

using list = std::vector<std::string>;

TEST(membership, names_are_address_and_port_with_ipv6_in_brackets)
{
    EXPECT_EQ(server_name("10.0.0.1", 8000), "10.0.0.1:8000");
    EXPECT_EQ(server_name("fd00::1", 8000), "[fd00::1]:8000");
}

TEST(membership, the_first_answer_adds_every_address)
{
    membership m{256};
    const auto c = m.apply(answer({{"10.0.0.1", 8000}, {"fd00::2", 8000}}));
    EXPECT_EQ(names(c.added), (list{"10.0.0.1:8000", "[fd00::2]:8000"}));
    EXPECT_TRUE(c.retired.empty());
    EXPECT_TRUE(c.unchanged.empty());
    EXPECT_FALSE(c.failure);
    EXPECT_TRUE(c.changed());
    EXPECT_EQ(names(m.servers()), (list{"10.0.0.1:8000", "[fd00::2]:8000"}));
    EXPECT_EQ(m.servers()[0].address, "10.0.0.1");
    EXPECT_EQ(m.servers()[0].port, 8000);
    EXPECT_EQ(m.servers()[0].weight, 1u);
}

TEST(membership, a_later_answer_adds_retires_and_keeps)
{
    membership m{256};
    m.apply(answer({{"10.0.0.1", 80}, {"10.0.0.2", 80}}));
    const auto c = m.apply(answer({{"10.0.0.3", 80}, {"10.0.0.2", 80}}));
    EXPECT_EQ(names(c.added), (list{"10.0.0.3:80"}));
    EXPECT_EQ(names(c.retired), (list{"10.0.0.1:80"}));
    EXPECT_EQ(names(c.unchanged), (list{"10.0.0.2:80"}));
    EXPECT_EQ(names(m.servers()), (list{"10.0.0.2:80", "10.0.0.3:80"}));
}

TEST(membership, the_same_answer_in_another_order_changes_nothing)
{
    membership m{256};
    m.apply(answer({{"10.0.0.1", 80}, {"10.0.0.2", 80}}));
    const auto c = m.apply(answer({{"10.0.0.2", 80}, {"10.0.0.1", 80}}));
    EXPECT_FALSE(c.changed());
    EXPECT_EQ(names(c.unchanged), (list{"10.0.0.1:80", "10.0.0.2:80"}));
}

TEST(membership, a_repeated_address_is_one_server)
{
    membership m{256};
    const auto c = m.apply(answer({{"10.0.0.1", 80}, {"10.0.0.1", 80}, {"10.0.0.1", 81}}));
    EXPECT_EQ(names(c.added), (list{"10.0.0.1:80", "10.0.0.1:81"}));
}

TEST(membership, every_failure_keeps_the_set)
{
    for (const auto f :
         {resolve_failure::timeout, resolve_failure::servfail, resolve_failure::nxdomain,
          resolve_failure::empty, resolve_failure::other}) {
        membership m{256};
        m.apply(answer({{"10.0.0.1", 80}}));
        const auto c = m.apply(resolve_answer::failed(f));
        EXPECT_EQ(c.failure, f) << to_string(f);
        EXPECT_FALSE(c.changed()) << to_string(f);
        EXPECT_EQ(names(c.unchanged), (list{"10.0.0.1:80"}));
        EXPECT_EQ(names(m.servers()), (list{"10.0.0.1:80"})) << to_string(f);
    }
}

TEST(membership, an_answer_without_addresses_is_the_empty_failure)
{
    membership m{256};
    m.apply(answer({{"10.0.0.1", 80}}));
    const auto c = m.apply(answer({}));
    EXPECT_EQ(c.failure, resolve_failure::empty);
    EXPECT_EQ(names(m.servers()), (list{"10.0.0.1:80"}));
}

TEST(membership, failures_have_the_metric_label_names)
{
    EXPECT_EQ(to_string(resolve_failure::timeout), "timeout");
    EXPECT_EQ(to_string(resolve_failure::servfail), "servfail");
    EXPECT_EQ(to_string(resolve_failure::nxdomain), "nxdomain");
    EXPECT_EQ(to_string(resolve_failure::empty), "empty");
    EXPECT_EQ(to_string(resolve_failure::other), "other");
}

TEST(membership, max_servers_caps_the_new_ones_and_keeps_the_known)
{
    membership m{2};
    auto c = m.apply(answer({{"10.0.0.1", 80}, {"10.0.0.2", 80}, {"10.0.0.3", 80}}));
    EXPECT_EQ(names(c.added), (list{"10.0.0.1:80", "10.0.0.2:80"}));
    EXPECT_EQ(c.over_max_servers, 1u);
    // 10.0.0.3 listed first now: the known two stay all the same.
    c = m.apply(answer({{"10.0.0.3", 80}, {"10.0.0.2", 80}, {"10.0.0.1", 80}}));
    EXPECT_FALSE(c.changed());
    EXPECT_EQ(c.over_max_servers, 1u);
    // One known server gone: the cap lets the third in.
    c = m.apply(answer({{"10.0.0.3", 80}, {"10.0.0.2", 80}}));
    EXPECT_EQ(names(c.added), (list{"10.0.0.3:80"}));
    EXPECT_EQ(names(c.retired), (list{"10.0.0.1:80"}));
    EXPECT_EQ(c.over_max_servers, 0u);
}

TEST(membership, a_lowered_max_servers_retires_the_latest_found)
{
    membership m{3};
    m.apply(answer({{"10.0.0.1", 80}, {"10.0.0.2", 80}, {"10.0.0.3", 80}}));
    m.set_max_servers(2);
    const auto c = m.apply(answer({{"10.0.0.1", 80}, {"10.0.0.2", 80}, {"10.0.0.3", 80}}));
    EXPECT_EQ(names(c.retired), (list{"10.0.0.3:80"}));
    EXPECT_EQ(names(c.unchanged), (list{"10.0.0.1:80", "10.0.0.2:80"}));
    EXPECT_EQ(names(m.servers()), (list{"10.0.0.1:80", "10.0.0.2:80"}));
}

TEST(membership, srv_ports_and_weights_are_used_in_proportion)
{
    membership m{256};
    m.apply(answer(
        {{"10.0.0.1", 8001, 10, 100}, {"10.0.0.2", 8002, 10, 50}, {"10.0.0.3", 8003, 10, 0}}));
    const auto& s = m.servers();
    ASSERT_EQ(names(s), (list{"10.0.0.1:8001", "10.0.0.2:8002", "10.0.0.3:8003"}));
    EXPECT_EQ(s[0].weight, 256u);
    EXPECT_EQ(s[1].weight, 128u);
    EXPECT_EQ(s[2].weight, 1u);  // weight 0: the smallest share, not none
}

TEST(membership, equal_srv_weights_give_weight_1)
{
    membership m{256};
    m.apply(answer({{"10.0.0.1", 8001, 0, 5}, {"10.0.0.2", 8002, 0, 5}}));
    EXPECT_EQ(m.servers()[0].weight, 1u);
    EXPECT_EQ(m.servers()[1].weight, 1u);
}

TEST(membership, only_the_lowest_srv_priority_is_used)
{
    membership m{256};
    const auto c = m.apply(answer({{"10.0.0.9", 80, 20, 1}, {"10.0.0.1", 80, 10, 1}}));
    EXPECT_EQ(names(c.added), (list{"10.0.0.1:80"}));
}

TEST(membership, a_changed_srv_weight_is_a_change_of_the_same_server)
{
    membership m{256};
    m.apply(answer({{"10.0.0.1", 80, 0, 10}, {"10.0.0.2", 80, 0, 20}}));
    const auto c = m.apply(answer({{"10.0.0.1", 80, 0, 20}, {"10.0.0.2", 80, 0, 20}}));
    EXPECT_TRUE(c.added.empty());
    EXPECT_TRUE(c.retired.empty());
    EXPECT_TRUE(c.reweighted);
    EXPECT_TRUE(c.changed());
    EXPECT_EQ(m.servers()[0].weight, 1u);
}

TEST(membership, next_delay_is_the_interval_or_a_shorter_ttl_but_at_least_a_second)
{
    struct row {
        std::chrono::milliseconds interval;
        std::optional<std::chrono::seconds> ttl;
        std::chrono::milliseconds expected;
    };
    for (const auto& r : {row{5s, 30s, 5s}, row{5s, 2s, 2s}, row{5s, 0s, 1s},
                          row{5s, std::nullopt, 5s}, row{1500ms, 1s, 1s}, row{10s, 10s, 10s}}) {
        EXPECT_EQ(next_delay(r.interval, r.ttl), r.expected)
            << r.interval.count() << " " << (r.ttl ? r.ttl->count() : -1);
    }
}

}  // namespace
}  // namespace sluice::proxy
