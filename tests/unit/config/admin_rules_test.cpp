#include "config/admin_rules.hpp"

#include "config/loader.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace sluice::config {
namespace {

std::string config_with_admin(std::string_view admin_keys)
{
    return "listeners:\n  - { name: web, bind: 127.0.0.1:8080 }\n"
           "backends:\n  - name: app\n    servers:\n"
           "      - { name: app1, address: 127.0.0.1:8000, max_connections: 2 }\n"
           "admin:\n" +
           std::string(admin_keys);
}

// A directory with a config file's name in it, for token files beside the config.
struct config_dir {
    std::filesystem::path path = std::filesystem::temp_directory_path() /
                                 ("sluice-admin-rules-" + std::to_string(::getpid()));
    config_dir() { std::filesystem::create_directories(path); }
    ~config_dir() { std::filesystem::remove_all(path); }
    void write(const std::string& name, const std::string& text) const
    {
        std::ofstream(path / name, std::ios::binary) << text;
    }
    std::string config_name() const { return (path / "sluice.yaml").string(); }
};

TEST(admin_rules, loopback_and_unix_sockets_are_local_only)
{
    const auto tcp = [](std::string host) {
        return endpoint{endpoint::kind::tcp, host, 1, "", ""};
    };
    for (auto host : {"127.0.0.1", "127.1.2.3", "::1", "localhost"})
        EXPECT_TRUE(local_only(tcp(host))) << host;
    for (auto host : {"0.0.0.0", "::", "10.0.0.5", "192.168.1.1", "128.0.0.1"})
        EXPECT_FALSE(local_only(tcp(host))) << host;
    EXPECT_TRUE(local_only({endpoint::kind::unix_socket, "", 0, "/run/a.sock", ""}));
}

TEST(admin_rules, the_token_is_read_beside_the_config_without_surrounding_white_space)
{
    config_dir dir;
    dir.write("token", "  s3cret-token\n");
    const auto loaded = load_string(config_with_admin("  token_file: token\n"), dir.config_name());
    EXPECT_EQ(loaded.config.admin.token, "s3cret-token");
    EXPECT_EQ(admin_exposure(loaded.config), std::nullopt);
}

TEST(admin_rules, an_unreadable_or_empty_token_file_is_an_error_at_its_key)
{
    config_dir dir;
    dir.write("empty", " \n");
    for (auto [file, what] : {std::pair{"missing", "cannot be read"}, {"empty", "is empty"}}) {
        try {
            load_string(config_with_admin(std::string("  token_file: ") + file + "\n"),
                        dir.config_name());
            FAIL() << file;
        } catch (const config_error& e) {
            ASSERT_EQ(e.errors().size(), 1u);
            const auto& error = e.errors().front();
            EXPECT_TRUE(error.starts_with(dir.config_name() + ":8:15: admin.token_file: "))
                << error;
            EXPECT_NE(error.find(what), std::string::npos) << error;
        }
    }
}

TEST(admin_rules, a_bind_reachable_from_other_machines_needs_a_token)
{
    const auto open = load_string(config_with_admin("  bind: 0.0.0.0:9090\n"), "t.yaml");
    const auto problem = admin_exposure(open.config);
    ASSERT_TRUE(problem);
    EXPECT_TRUE(problem->starts_with("t.yaml:8:9: admin.bind: 0.0.0.0:9090 is reachable"))
        << *problem;
    EXPECT_NE(problem->find("set admin.token_file"), std::string::npos);
    for (auto bind : {"127.0.0.1:9090", "unix:/run/sluice-admin.sock", "localhost:9090"})
        EXPECT_FALSE(admin_exposure(
            load_string(config_with_admin(std::string("  bind: ") + bind + "\n"), "t.yaml").config))
            << bind;
}

}  // namespace
}  // namespace sluice::config
