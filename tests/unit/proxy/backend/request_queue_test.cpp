#include "proxy/backend/request_queue.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <random>
#include <ranges>
#include <unordered_set>
#include <vector>

namespace sluice::proxy {
namespace {

using config::balance;
using outcome = request_queue::outcome;
using grant = request_queue::grant;
using ticket = request_queue::ticket;

constexpr balance all_policies[] = {balance::roundrobin, balance::leastconn, balance::random2};

// Grants as (waiter, server) pairs, which gtest compares and prints.
using grants = std::vector<std::pair<ticket, std::size_t>>;

grants pairs(const std::vector<grant>& given)
{
    grants out;
    for (const auto& g : given) out.emplace_back(g.waiter, g.server);
    return out;
}

// One server with `max_connections` slots of weight 1, and a FIFO of `max_length`.
request_queue one_server(unsigned max_connections, std::size_t max_length)
{
    request_queue q{balance::leastconn, max_length, 1};
    q.add_server(max_connections, 1);
    return q;
}

TEST(request_queue, grants_while_a_server_has_a_free_slot_then_queues)
{
    request_queue q{balance::leastconn, 10, 1};
    q.add_server(1, 1);
    q.add_server(1, 1);
    const auto first = q.admit(1), second = q.admit(2);
    EXPECT_EQ(first.result, outcome::granted);
    EXPECT_EQ(second.result, outcome::granted);
    EXPECT_NE(first.server, second.server);
    EXPECT_EQ(q.admit(3).result, outcome::queued);
    EXPECT_EQ(q.queue_length(), 1u);
    EXPECT_EQ(q.total_in_flight(), 2u);
}

TEST(request_queue, queue_full_rejects_at_once)
{
    auto q = one_server(1, 2);
    EXPECT_EQ(q.admit(1).result, outcome::granted);
    EXPECT_EQ(q.admit(2).result, outcome::queued);
    EXPECT_EQ(q.admit(3).result, outcome::queued);
    EXPECT_EQ(q.admit(4).result, outcome::rejected_full);
    EXPECT_EQ(q.queue_length(), 2u);
    EXPECT_FALSE(q.cancel(4)) << "a rejected request never waited";
}

TEST(request_queue, max_length_0_never_queues)
{
    auto q = one_server(1, 0);
    EXPECT_EQ(q.admit(1).result, outcome::granted);
    EXPECT_EQ(q.admit(2).result, outcome::rejected_full);
    EXPECT_TRUE(q.release(0).empty());
    EXPECT_EQ(q.admit(3).result, outcome::granted);
}

TEST(request_queue, freed_slot_goes_to_the_oldest_waiter)
{
    auto q = one_server(1, 10);
    for (ticket t : {1, 2, 3, 4}) q.admit(t);
    EXPECT_EQ(pairs(q.release(0)), (grants{{2, 0}}));
    EXPECT_EQ(pairs(q.release(0)), (grants{{3, 0}}));
    EXPECT_EQ(pairs(q.release(0)), (grants{{4, 0}}));
    EXPECT_TRUE(q.release(0).empty());
    EXPECT_EQ(q.total_in_flight(), 0u);
}

TEST(request_queue, a_cancelled_waiter_leaves_at_once_and_is_never_granted)
{
    auto q = one_server(1, 10);
    for (ticket t : {1, 2, 3}) q.admit(t);
    EXPECT_TRUE(q.cancel(2));
    EXPECT_EQ(q.queue_length(), 1u);
    EXPECT_FALSE(q.cancel(2)) << "already gone";
    EXPECT_FALSE(q.cancel(1)) << "granted, not waiting";
    EXPECT_FALSE(q.cancel(99)) << "never admitted";
    EXPECT_EQ(pairs(q.release(0)), (grants{{3, 0}}));
}

TEST(request_queue, with_every_server_at_weight_0_requests_queue_until_one_comes_back)
{
    request_queue q{balance::roundrobin, 10, 1};
    q.add_server(2, 0);
    q.add_server(2, 0);
    EXPECT_EQ(q.free_slots(), 0u);
    EXPECT_EQ(q.admit(1).result, outcome::queued);
    EXPECT_EQ(q.admit(2).result, outcome::queued);
    EXPECT_EQ(q.admit(3).result, outcome::queued);
    EXPECT_EQ(pairs(q.set_server(1, 2, 0.1)), (grants{{1, 1}, {2, 1}}));
    EXPECT_EQ(q.queue_length(), 1u);
}

TEST(request_queue, a_server_at_weight_0_keeps_its_requests_but_takes_no_new_one)
{
    request_queue q{balance::leastconn, 10, 1};
    q.add_server(4, 1);
    for (ticket t : {1, 2}) q.admit(t);
    EXPECT_TRUE(q.set_server(0, 4, 0).empty());
    EXPECT_EQ(q.server(0).in_flight, 2u);
    EXPECT_EQ(q.admit(3).result, outcome::queued);
    EXPECT_TRUE(q.release(0).empty());
    EXPECT_EQ(pairs(q.set_server(0, 4, 1)), (grants{{3, 0}}));
}

TEST(request_queue, unlimited_servers_never_queue)
{
    request_queue q{balance::random2, 0, 1};
    q.add_server(0, 1);
    q.add_server(0, 2);
    for (ticket t = 0; t < 1000; ++t) ASSERT_EQ(q.admit(t).result, outcome::granted);
    EXPECT_EQ(q.total_in_flight(), 1000u);
    EXPECT_EQ(q.free_slots(), 2u) << "no limit counts as one free slot";
}

TEST(request_queue, raising_max_connections_lets_waiters_in_oldest_first)
{
    auto q = one_server(1, 10);
    for (ticket t : {1, 2, 3, 4}) q.admit(t);
    EXPECT_EQ(pairs(q.set_server(0, 3, 1)), (grants{{2, 0}, {3, 0}}));
    EXPECT_EQ(pairs(q.set_server(0, 0, 1)), (grants{{4, 0}}));
}

TEST(request_queue, lowering_max_connections_below_in_flight_grants_nothing_until_under_it)
{
    auto q = one_server(3, 10);
    for (ticket t : {1, 2, 3, 4}) q.admit(t);
    EXPECT_TRUE(q.set_server(0, 1, 1).empty());
    EXPECT_TRUE(q.release(0).empty());
    EXPECT_TRUE(q.release(0).empty());
    EXPECT_EQ(pairs(q.release(0)), (grants{{4, 0}}));
}

TEST(request_queue, a_new_server_takes_waiters_once_set_server_hands_it_over)
{
    auto q = one_server(1, 10);
    for (ticket t : {1, 2}) q.admit(t);
    const auto added = q.add_server(1, 1);
    EXPECT_EQ(q.admit(3).result, outcome::queued) << "a newcomer does not overtake a waiter";
    EXPECT_EQ(pairs(q.set_server(added, 1, 1)), (grants{{2, added}}));
    EXPECT_EQ(q.queue_length(), 1u);
}

TEST(request_queue, lowering_max_length_keeps_the_waiters_and_rejects_new_ones)
{
    auto q = one_server(1, 10);
    for (ticket t : {1, 2, 3}) q.admit(t);
    q.set_max_length(1);
    EXPECT_EQ(q.max_length(), 1u);
    EXPECT_EQ(q.queue_length(), 2u);
    EXPECT_EQ(q.admit(4).result, outcome::rejected_full);
    EXPECT_EQ(pairs(q.release(0)), (grants{{2, 0}}));
}

TEST(request_queue, free_slots_counts_what_could_be_granted_now)
{
    struct server_row {
        unsigned max_connections, in_flight;
        double weight;
    };
    struct row {
        std::vector<server_row> servers;
        std::size_t free;
    };
    const std::vector<row> rows{
        {{}, 0},
        {{{4, 1, 1}}, 3},
        {{{4, 4, 1}, {2, 0, 1}}, 2},
        {{{4, 0, 0}, {2, 1, 0.5}}, 1},  // weight 0 offers nothing
        {{{0, 7, 1}, {3, 1, 1}}, 3},    // no limit counts as one
        {{{0, 0, 0}}, 0},
    };
    for (const auto& r : rows) {
        request_queue q{balance::leastconn, 100, 1};
        for (std::size_t i = 0; i < r.servers.size(); ++i) q.add_server(0, 0);
        ticket t = 0;
        // Fill each server through the queue itself while it is the only one taking requests.
        for (std::size_t i = 0; i < r.servers.size(); ++i) {
            q.set_server(i, 0, 1);
            for (unsigned k = 0; k < r.servers[i].in_flight; ++k) ASSERT_EQ(q.admit(t++).server, i);
            q.set_server(i, 0, 0);
        }
        for (std::size_t i = 0; i < r.servers.size(); ++i) {
            q.set_server(i, r.servers[i].max_connections, r.servers[i].weight);
        }
        EXPECT_EQ(q.free_slots(), r.free);
    }
}

// Random admits, releases, cancels and server changes against an independent model of what the
// queue promises, checked after every step.
class queue_fuzz {
public:
    queue_fuzz(balance policy, std::uint64_t seed) : rng_(seed), queue_(policy, 8, seed)
    {
        for (int i = 0; i < 4; ++i) {
            caps_.push_back({pick({1u, 1u, 2u, 3u}), 1.0});
            queue_.add_server(caps_.back().max_connections, caps_.back().weight);
        }
    }

    void step()
    {
        const int op = std::uniform_int_distribution<int>{0, 99}(rng_);
        if (op < 40) return admit();
        if (op < 75) return release();
        if (op < 87) return cancel();
        if (op < 96) return set_server();
        if (op < 98) return add_server();
        queue_.set_max_length(pick<std::size_t>({0, 2, 8, 30}));
    }

    // Gives every server one slot and releases until nothing is held or waiting: each ticket
    // must then have been granted, cancelled or rejected, exactly one of them.
    void drain()
    {
        for (std::size_t i = 0; i < caps_.size(); ++i) {
            caps_[i] = {1, 1.0};
            take(queue_.set_server(i, 1, 1.0));
        }
        while (!held_.empty()) release();
        EXPECT_TRUE(waiting_.empty());
        EXPECT_EQ(granted_.size() + cancelled_.size() + rejected_, next_ticket_);
    }

    void check_invariants() const
    {
        EXPECT_EQ(queue_.total_in_flight(), held_.size()) << "a slot leaked";
        EXPECT_EQ(queue_.queue_length(), waiting_.size());
        EXPECT_EQ(queue_.free_slots(), model_free_slots());
        for (std::size_t i = 0; i < caps_.size(); ++i) {
            EXPECT_EQ(queue_.server(i).in_flight, held_on(i)) << "server " << i;
        }
        if (!waiting_.empty()) {
            EXPECT_EQ(model_free_slots(), 0u) << "a request waits while a slot is free";
        }
    }

private:
    template <class T>
    T pick(std::initializer_list<T> values)
    {
        const auto i = std::uniform_int_distribution<std::size_t>{0, values.size() - 1}(rng_);
        return values.begin()[i];
    }

    std::size_t random_index(std::size_t size)
    {
        return std::uniform_int_distribution<std::size_t>{0, size - 1}(rng_);
    }

    unsigned held_on(std::size_t server) const
    {
        return unsigned(std::ranges::count(held_, server, &grant::server));
    }

    bool can_take(std::size_t server) const
    {
        const auto& c = caps_[server];
        return c.weight > 0 && (c.max_connections == 0 || held_on(server) < c.max_connections);
    }

    std::size_t model_free_slots() const
    {
        std::size_t free = 0;
        for (std::size_t i = 0; i < caps_.size(); ++i) {
            if (!can_take(i)) continue;
            free += caps_[i].max_connections == 0 ? 1 : caps_[i].max_connections - held_on(i);
        }
        return free;
    }

    void record_grant(ticket id, std::size_t server)
    {
        EXPECT_TRUE(can_take(server)) << "server " << server << " was full or at weight 0";
        EXPECT_TRUE(granted_.insert(id).second) << "ticket " << id << " granted twice";
        EXPECT_FALSE(cancelled_.contains(id)) << "cancelled ticket " << id << " granted";
        held_.push_back({id, server});
    }

    void take(const std::vector<grant>& grants)
    {
        for (const auto& g : grants) {
            ASSERT_FALSE(waiting_.empty()) << "grant " << g.waiter << " with nobody waiting";
            EXPECT_EQ(g.waiter, waiting_.front()) << "FIFO order broken";
            waiting_.pop_front();
            record_grant(g.waiter, g.server);
        }
    }

    void admit()
    {
        const ticket id = next_ticket_++;
        const bool slot_free = std::ranges::any_of(std::views::iota(std::size_t{0}, caps_.size()),
                                                   [&](auto i) { return can_take(i); });
        const auto a = queue_.admit(id);
        if (waiting_.empty() && slot_free) {
            ASSERT_EQ(a.result, outcome::granted);
            record_grant(id, a.server);
        } else if (waiting_.size() < queue_.max_length()) {
            ASSERT_EQ(a.result, outcome::queued);
            waiting_.push_back(id);
        } else {
            ASSERT_EQ(a.result, outcome::rejected_full);
            ++rejected_;
        }
    }

    void release()
    {
        if (held_.empty()) return;
        const auto i = random_index(held_.size());
        const auto server = held_[i].server;
        held_[i] = held_.back();
        held_.pop_back();
        take(queue_.release(server));
    }

    void cancel()
    {
        if (waiting_.empty() || pick({false, false, false, true})) {
            // Not waiting: granted, already cancelled, or never admitted.
            EXPECT_FALSE(queue_.cancel(held_.empty() ? next_ticket_ : held_.front().waiter));
            return;
        }
        const auto it = waiting_.begin() + std::ptrdiff_t(random_index(waiting_.size()));
        EXPECT_TRUE(queue_.cancel(*it));
        EXPECT_FALSE(queue_.cancel(*it));
        cancelled_.insert(*it);
        waiting_.erase(it);
    }

    void set_server()
    {
        const auto i = random_index(caps_.size());
        // Mostly small limits so that requests queue; rarely unlimited, which drains the FIFO.
        caps_[i] = {pick({1u, 1u, 2u, 3u, 5u, 0u}), pick({0.0, 0.1, 1.0, 1.0, 3.0})};
        take(queue_.set_server(i, caps_[i].max_connections, caps_[i].weight));
    }

    // As a reload does: add, then hand the new capacity to the waiters.
    void add_server()
    {
        if (caps_.size() >= 8) return;
        caps_.push_back({pick({1u, 2u}), 1.0});
        const auto i = queue_.add_server(caps_.back().max_connections, 0);
        ASSERT_EQ(i, caps_.size() - 1);
        take(queue_.set_server(i, caps_.back().max_connections, caps_.back().weight));
    }

    struct caps {
        unsigned max_connections;
        double weight;
    };

    std::mt19937_64 rng_;
    request_queue queue_;
    std::vector<caps> caps_;
    std::vector<grant> held_;     // granted and not released
    std::deque<ticket> waiting_;  // in admission order
    std::unordered_set<ticket> granted_, cancelled_;
    std::size_t rejected_ = 0;
    ticket next_ticket_ = 0;
};

TEST(request_queue, random_interleavings_keep_every_promise)
{
    for (const auto policy : all_policies) {
        for (std::uint64_t seed = 1; seed <= 4; ++seed) {
            SCOPED_TRACE(testing::Message() << "policy " << int(policy) << " seed " << seed);
            queue_fuzz fuzz{policy, seed};
            for (int i = 0; i < 5000 && !testing::Test::HasFailure(); ++i) {
                SCOPED_TRACE(testing::Message() << "step " << i);
                fuzz.step();
                fuzz.check_invariants();
            }
            fuzz.drain();
            fuzz.check_invariants();
        }
    }
}

}  // namespace
}  // namespace sluice::proxy
