#include "proxy/http/body_store.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

namespace sluice::proxy {
namespace {

std::string read_all(const body_store& b, std::size_t piece)
{
    std::string out, scratch(piece, '\0');
    for (std::uint64_t offset = 0;;) {
        std::string_view got;
        EXPECT_FALSE(b.read_at(offset, scratch.data(), piece, got));
        if (got.empty()) return out;
        out += got;
        offset += got.size();
    }
}

std::string pattern(std::size_t n)
{
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 13) % 26);
    return s;
}

std::size_t files_in(const std::filesystem::path& dir)
{
    return static_cast<std::size_t>(std::distance(std::filesystem::directory_iterator(dir),
                                                  std::filesystem::directory_iterator{}));
}

TEST(body_store, a_small_body_stays_in_memory)
{
    body_store b({.memory = 64, .max_size = 1000});
    EXPECT_FALSE(b.append("hello "));
    EXPECT_FALSE(b.append("world"));
    EXPECT_FALSE(b.spooled());
    EXPECT_EQ(b.in_memory(), "hello world");
    EXPECT_EQ(read_all(b, 4), "hello world");
}

TEST(body_store, past_memory_the_rest_goes_to_an_unlinked_file_and_reads_back_exactly)
{
    const auto dir = std::filesystem::temp_directory_path() / "sluice_body_store_test";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    const auto body = pattern(100'000);
    {
        const auto spool_dir = dir.string();
        body_store b({.memory = 1000, .max_size = 1'000'000, .spool_dir = spool_dir});
        for (std::size_t i = 0; i < body.size(); i += 777)
            ASSERT_FALSE(b.append(std::string_view(body).substr(i, 777)));
        EXPECT_TRUE(b.spooled());
        EXPECT_EQ(b.size(), body.size());
        EXPECT_EQ(b.in_memory().size(), 1000u);
        EXPECT_EQ(files_in(dir), 0u);  // nothing with a name, even while in use
        EXPECT_EQ(read_all(b, 4096), body);
        EXPECT_EQ(read_all(b, 333), body);  // read again from the start: a retry resends it
    }
    std::filesystem::remove_all(dir);
}

TEST(body_store, a_body_over_max_size_is_refused_and_nothing_is_appended)
{
    body_store b({.memory = 10, .max_size = 20});
    EXPECT_FALSE(b.append(pattern(15)));
    EXPECT_EQ(b.append(pattern(6)), std::make_error_code(std::errc::file_too_large));
    EXPECT_EQ(b.size(), 15u);
    EXPECT_FALSE(b.append(pattern(5)));
    EXPECT_EQ(b.size(), 20u);
}

TEST(body_store, cleared_it_is_reused_from_memory_again)
{
    body_store b({.memory = 4, .max_size = 100});
    EXPECT_FALSE(b.append("abcdefgh"));
    EXPECT_TRUE(b.spooled());
    b.clear();
    EXPECT_EQ(b.size(), 0u);
    EXPECT_FALSE(b.append("xyz"));
    EXPECT_FALSE(b.spooled());
    EXPECT_FALSE(b.append("123456"));
    EXPECT_EQ(read_all(b, 2), "xyz123456");
}

TEST(body_store, an_unusable_spool_dir_is_an_error_not_a_crash)
{
    body_store b({.memory = 2, .max_size = 100, .spool_dir = "/nonexistent/sluice"});
    EXPECT_TRUE(b.append("abcdef"));
}

}  // namespace
}  // namespace sluice::proxy
