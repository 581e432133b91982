#include "proxy/backend/balancer.hpp"

#include <gtest/gtest.h>

#include <numeric>
#include <string>
#include <utility>
#include <vector>

namespace sluice::proxy {
namespace {

using config::balance;

constexpr std::pair<balance, const char*> all_policies[] = {{balance::roundrobin, "roundrobin"},
                                                            {balance::leastconn, "leastconn"},
                                                            {balance::random2, "random2"}};

server_load load(unsigned in_flight, unsigned max_connections, double weight)
{
    return {.in_flight = in_flight, .max_connections = max_connections, .weight = weight};
}

// Picks `n` times; each pick adds a request to the chosen server, as the request queue does.
std::vector<unsigned> picks_with_load(balance policy, std::vector<server_load> servers, unsigned n)
{
    balancer b{policy, 42};
    std::vector<unsigned> counts(servers.size());
    for (unsigned i = 0; i < n; ++i) {
        const auto chosen = b.pick(servers);
        if (!chosen) break;
        ++counts[*chosen];
        ++servers[*chosen].in_flight;
    }
    return counts;
}

TEST(balancer, roundrobin_with_weights_5_1_1_is_nginx_smooth_sequence)
{
    balancer b{balance::roundrobin, 1};
    const std::vector<server_load> servers{load(0, 0, 5), load(0, 0, 1), load(0, 0, 1)};
    std::string sequence;
    for (int i = 0; i < 14; ++i) sequence += static_cast<char>('a' + *b.pick(servers));
    EXPECT_EQ(sequence, "aabacaaaabacaa");
}

TEST(balancer, shares_follow_weights_for_every_policy)
{
    struct row {
        std::vector<double> weights;
        double tolerance;  // of each share, absolute
    };
    const row rows[] = {
        {{1, 1}, 0.01},
        {{5, 1, 1}, 0.01},
        {{3, 2, 1, 4}, 0.01},
        {{1, 0.1}, 0.01},  // a server early in its slow start
        {{0.5, 0.25, 0.25}, 0.01},
    };
    constexpr unsigned n = 20000;
    for (const auto& [policy, name] : all_policies) {
        for (const auto& r : rows) {
            SCOPED_TRACE(name + (" with " + testing::PrintToString(r.weights)));
            std::vector<server_load> servers;
            for (const double w : r.weights) servers.push_back(load(0, 0, w));
            const auto counts = picks_with_load(policy, servers, n);
            const double total_weight = std::accumulate(r.weights.begin(), r.weights.end(), 0.0);
            for (std::size_t i = 0; i < counts.size(); ++i) {
                EXPECT_NEAR(double(counts[i]) / n, r.weights[i] / total_weight, r.tolerance)
                    << "server " << i;
            }
        }
    }
}

TEST(balancer, roundrobin_shares_follow_weights_without_any_load)
{
    balancer b{balance::roundrobin, 1};
    const std::vector<server_load> servers{load(7, 0, 3), load(0, 0, 6), load(3, 0, 1)};
    std::vector<unsigned> counts(servers.size());
    for (int i = 0; i < 1000; ++i) ++counts[*b.pick(servers)];
    EXPECT_EQ(counts, (std::vector<unsigned>{300, 600, 100}));
}

TEST(balancer, servers_with_weight_0_or_no_free_slot_are_never_chosen)
{
    const std::vector<std::vector<server_load>> tables{
        {load(0, 0, 0), load(0, 1, 1)},
        {load(2, 2, 5), load(0, 0, 1)},
        {load(0, 4, 0), load(5, 3, 9), load(1, 2, 0.01), load(3, 3, 1)},
        {load(1, 1, 100), load(0, 0, 0), load(0, 1, 1)},
    };
    for (const auto& [policy, name] : all_policies) {
        balancer b{policy, 7};
        for (const auto& servers : tables) {
            SCOPED_TRACE(name);
            for (int i = 0; i < 200; ++i) {
                const auto chosen = b.pick(servers);
                ASSERT_TRUE(chosen);
                EXPECT_TRUE(servers[*chosen].has_free_slot()) << "chose " << *chosen;
            }
        }
    }
}

TEST(balancer, nothing_free_gives_nullopt)
{
    const std::vector<std::vector<server_load>> tables{
        {},
        {load(0, 0, 0)},
        {load(1, 1, 1), load(4, 4, 2)},
        {load(0, 3, 0), load(2, 2, 1), load(9, 1, 1)},
    };
    for (const auto& [policy, name] : all_policies) {
        balancer b{policy, 7};
        for (const auto& servers : tables) {
            SCOPED_TRACE(name + (" over " + std::to_string(servers.size()) + " servers"));
            EXPECT_EQ(b.pick(servers), std::nullopt);
        }
    }
}

TEST(balancer, leastconn_prefers_the_least_loaded_relative_to_weight)
{
    struct row {
        std::vector<server_load> servers;
        std::size_t expected;
    };
    const std::vector<row> rows{
        {{load(3, 0, 1), load(1, 0, 1), load(2, 0, 1)}, 1},
        {{load(3, 0, 4), load(1, 0, 1)}, 0},    // (3+1)/4 = 1 beats (1+1)/1 = 2
        {{load(0, 0, 0.1), load(4, 0, 1)}, 1},  // (0+1)/0.1 = 10 loses to 5
        {{load(0, 0, 1), load(0, 1, 5), load(2, 0, 9)}, 1},
        {{load(0, 0, 0), load(5, 10, 1)}, 1},  // the only one that may take work
        {{load(1, 1, 1), load(6, 0, 1)}, 1},   // the least loaded is full
    };
    for (const auto& r : rows) {
        balancer b{balance::leastconn, 1};
        EXPECT_EQ(b.pick(r.servers), r.expected);
    }
}

TEST(balancer, leastconn_ties_alternate_between_equal_servers)
{
    balancer b{balance::leastconn, 1};
    const std::vector<server_load> servers{load(2, 0, 1), load(2, 0, 1), load(9, 0, 1),
                                           load(2, 0, 1)};
    std::vector<std::size_t> chosen;
    for (int i = 0; i < 6; ++i) chosen.push_back(*b.pick(servers));
    EXPECT_EQ(chosen, (std::vector<std::size_t>{0, 1, 3, 0, 1, 3}));
}

TEST(balancer, random2_sends_most_picks_to_the_less_loaded_of_two)
{
    // Equal weights: the loaded server wins only when both draws land on it, a quarter of picks.
    balancer b{balance::random2, 3};
    const std::vector<server_load> servers{load(9, 0, 1), load(0, 0, 1)};
    unsigned loaded = 0;
    constexpr unsigned n = 20000;
    for (unsigned i = 0; i < n; ++i) loaded += *b.pick(servers) == 0;
    EXPECT_NEAR(double(loaded) / n, 0.25, 0.015);
}

TEST(balancer, the_same_seed_gives_the_same_picks)
{
    const std::vector<server_load> servers{load(1, 0, 1), load(1, 0, 2), load(2, 0, 3)};
    balancer a{balance::random2, 99}, b{balance::random2, 99};
    for (int i = 0; i < 100; ++i) EXPECT_EQ(a.pick(servers), b.pick(servers));
}

TEST(balancer, servers_added_or_removed_between_picks_are_handled)
{
    for (const auto& [policy, name] : all_policies) {
        SCOPED_TRACE(name);
        balancer b{policy, 5};
        std::vector<server_load> servers{load(0, 0, 1), load(0, 0, 1)};
        for (int i = 0; i < 5; ++i) ASSERT_LT(*b.pick(servers), 2u);
        servers.push_back(load(0, 0, 1));
        std::vector<unsigned> counts(3);
        for (int i = 0; i < 300; ++i) ++counts[*b.pick(servers)];
        EXPECT_GT(counts[2], 50u) << "the new server takes its share";
        servers.resize(1);
        for (int i = 0; i < 5; ++i) EXPECT_EQ(b.pick(servers), 0u);
    }
}

TEST(balancer, roundrobin_skips_a_full_server_and_goes_on_smoothly)
{
    balancer b{balance::roundrobin, 1};
    std::vector<server_load> servers{load(0, 0, 1), load(0, 1, 1), load(0, 0, 1)};
    servers[1].in_flight = 1;  // full
    std::string sequence;
    for (int i = 0; i < 4; ++i) sequence += static_cast<char>('a' + *b.pick(servers));
    EXPECT_EQ(sequence, "acac");
    servers[1].in_flight = 0;
    sequence.clear();
    for (int i = 0; i < 6; ++i) sequence += static_cast<char>('a' + *b.pick(servers));
    EXPECT_EQ(sequence, "abcabc");
}

}  // namespace
}  // namespace sluice::proxy
