#include "proxy/runtime/idle_set.hpp"

#include "tests/unit_io/socket_pair.hpp"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <vector>

#include <sys/socket.h>
#include <unistd.h>

namespace sluice::proxy {
namespace {

// What the set woke, in order; entries are the address of each pair's `ours`.
std::vector<void*> woken;
void note_wake(void* entry) { woken.push_back(entry); }

struct pair : testing::socket_pair {
    void* entry() { return &ours; }
};

class idle_set_test : public ::testing::Test {
protected:
    void SetUp() override { woken.clear(); }
    // Runs what is ready now: the set's wake-ups come through the loop.
    void settle()
    {
        io.restart();
        while (io.poll() > 0) {
        }
    }
    boost::asio::io_context io{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
    idle_set set{io, &note_wake};
};

TEST_F(idle_set_test, a_socket_is_woken_once_when_its_peer_writes)
{
    pair p;
    ASSERT_TRUE(set.add(p.ours, p.entry(), false));
    settle();
    EXPECT_TRUE(woken.empty()) << "nothing to read yet";
    ASSERT_EQ(::write(p.peer, "GET", 3), 3);
    settle();
    ASSERT_EQ(woken, std::vector<void*>{p.entry()});
    ASSERT_EQ(::write(p.peer, "more", 4), 4);
    settle();
    EXPECT_EQ(woken.size(), 1u) << "a woken socket is not watched until added again";
}

TEST_F(idle_set_test, a_socket_added_again_is_watched_again)
{
    pair p;
    ASSERT_TRUE(set.add(p.ours, p.entry(), false));
    ASSERT_EQ(::write(p.peer, "x", 1), 1);
    settle();
    char byte;
    ASSERT_EQ(::read(p.ours, &byte, 1), 1);
    ASSERT_TRUE(set.add(p.ours, p.entry(), true));
    settle();
    EXPECT_EQ(woken.size(), 1u);
    ASSERT_EQ(::write(p.peer, "y", 1), 1);
    settle();
    EXPECT_EQ(woken.size(), 2u);
}

TEST_F(idle_set_test, a_socket_added_twice_as_new_is_re_armed)
{
    pair p;
    ASSERT_TRUE(set.add(p.ours, p.entry(), false));
    ASSERT_TRUE(set.add(p.ours, p.entry(), false));
    ASSERT_EQ(::write(p.peer, "x", 1), 1);
    settle();
    EXPECT_EQ(woken, std::vector<void*>{p.entry()});
}

TEST_F(idle_set_test, shutting_the_reading_side_wakes_it)
{
    pair p;
    ASSERT_TRUE(set.add(p.ours, p.entry(), false));
    settle();
    ASSERT_EQ(::shutdown(p.ours, SHUT_RD), 0);  // what deadline::end_wait does
    settle();
    EXPECT_EQ(woken, std::vector<void*>{p.entry()});
}

TEST_F(idle_set_test, a_peer_that_hangs_up_wakes_it)
{
    pair p;
    ASSERT_TRUE(set.add(p.ours, p.entry(), false));
    ::close(p.peer);
    p.peer = -1;
    settle();
    EXPECT_EQ(woken, std::vector<void*>{p.entry()});
}

TEST_F(idle_set_test, more_ready_sockets_than_one_batch_are_all_woken)
{
    std::vector<pair> pairs(150);
    for (auto& p : pairs) ASSERT_TRUE(set.add(p.ours, p.entry(), false));
    for (auto& p : pairs) ASSERT_EQ(::write(p.peer, "x", 1), 1);
    settle();
    std::map<void*, int> count;
    for (void* e : woken) ++count[e];
    EXPECT_EQ(count.size(), pairs.size());
    for (const auto& [entry, n] : count) EXPECT_EQ(n, 1);
}

TEST_F(idle_set_test, a_new_socket_on_a_closed_ones_number_is_watched)
{
    auto first = std::make_unique<pair>();
    const int number = first->ours;
    ASSERT_TRUE(set.add(first->ours, first->entry(), false));
    ASSERT_EQ(::write(first->peer, "x", 1), 1);
    settle();
    first.reset();  // closing leaves the set
    pair second;
    ASSERT_TRUE(second.ours == number || second.peer == number);
    ASSERT_TRUE(set.add(number, second.entry(), true)) << "the caller thinks it was added";
    ASSERT_EQ(::write(second.ours == number ? second.peer : second.ours, "y", 1), 1);
    settle();
    EXPECT_EQ(woken.back(), second.entry());
}

TEST_F(idle_set_test, a_descriptor_that_is_not_open_is_refused)
{
    EXPECT_FALSE(set.add(9999, nullptr, false));
    EXPECT_FALSE(set.add(9999, nullptr, true));
    EXPECT_TRUE(woken.empty());
}

}  // namespace
}  // namespace sluice::proxy
