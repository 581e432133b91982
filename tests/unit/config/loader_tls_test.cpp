// The keys of SPEC.md "TLS and the PROXY protocol" as the loader reads them (config/loader_tls).

#include "config/loader.hpp"

#include "support/test_certificates.hpp"

#include <gtest/gtest.h>

#include <fstream>

namespace sluice::config {
namespace {

// A config directory with a certificate beside it (tls/site.*) and a CA file (ca.pem).
class loader_tls : public ::testing::Test {
protected:
    test::scratch_dir dir{"sluice-loader-tls"};
    test::pem_files site = test::write_self_signed(dir.path() / "tls", "site",
                                                   {.names = {"example.com", "www.example.com"}});
    test::pem_files ca = test::write_ca(dir.path(), "ca");

    // Writes `yaml` as DIR/sluice.yaml and loads it from there.
    loaded load(const std::string& yaml)
    {
        const auto path = (dir.path() / "sluice.yaml").string();
        std::ofstream(path) << yaml;
        return load_file(path);
    }
    std::vector<std::string> errors_of(const std::string& yaml)
    {
        try {
            load_string(yaml, "t.yaml");
        } catch (const config_error& e) {
            return e.errors();
        }
        return {};
    }
    // A listener `web` whose tls block is `tls_lines` (indented 6), then one backend.
    std::string with_tls(const std::string& tls_lines)
    {
        return "listeners:\n  - name: web\n    bind: 127.0.0.1:8443\n    tls:\n" + tls_lines +
               "backends:\n  - name: app\n    servers: [{ address: 127.0.0.1:8000 }]\n";
    }
    std::string site_certificate()
    {
        return "      certificates:\n        - cert: " + site.cert +
               "\n          key: " + site.key + "\n";
    }
    // One backend whose server_defaults and servers are the given lines.
    std::string with_servers(const std::string& backend_lines)
    {
        return "listeners:\n  - { name: web, bind: 127.0.0.1:8080 }\nbackends:\n  - name: app\n" +
               backend_lines;
    }
};

TEST_F(loader_tls, every_listener_key_is_read_and_relative_paths_are_taken_beside_the_config)
{
    const auto other = test::write_self_signed(dir.path(), "other", {.names = {"api.example"}});
    const auto c = load("listeners:\n"
                        "  - name: web\n"
                        "    bind: 0.0.0.0:8443\n"
                        "    tls:\n"
                        "      certificates:\n"
                        "        - { cert: tls/site.crt, key: tls/site.key }\n"
                        "        - { cert: " +
                        other.cert + ", key: " + other.key +
                        " }\n"
                        "      min_version: \"1.3\"\n"
                        "      ciphers: ECDHE-RSA-AES128-GCM-SHA256\n"
                        "      alpn: [http/1.1]\n"
                        "    proxy_protocol: v2\n"
                        "backends:\n"
                        "  - name: app\n"
                        "    servers: [{ address: 127.0.0.1:8000, max_connections: 2 }]\n")
                       .config;
    const auto& l = c.listeners.at(0);
    ASSERT_TRUE(l.tls);
    ASSERT_EQ(l.tls->certificates.size(), 2u);
    EXPECT_EQ(l.tls->certificates[0].cert, (dir.path() / "tls/site.crt").string());
    EXPECT_EQ(l.tls->certificates[0].key, (dir.path() / "tls/site.key").string());
    EXPECT_EQ(l.tls->certificates[0].mark.line, 6);
    EXPECT_EQ(l.tls->certificates[0].mark.path, "listeners[0].tls.certificates[0]");
    EXPECT_EQ(l.tls->certificates[1].cert, other.cert);  // absolute: as written
    EXPECT_EQ(l.tls->min_version, tls_version::v1_3);
    EXPECT_EQ(l.tls->ciphers, "ECDHE-RSA-AES128-GCM-SHA256");
    EXPECT_EQ(l.tls->alpn, std::vector<std::string>{"http/1.1"});
    EXPECT_EQ(l.tls->mark.path, "listeners[0].tls");
    EXPECT_EQ(l.proxy_protocol, proxy_protocol::v2);
}

TEST_F(loader_tls, an_absent_tls_block_is_plain_http_and_a_present_one_has_the_spec_defaults)
{
    const auto plain = load(with_servers("    servers: [{ address: 127.0.0.1:8000 }]\n")).config;
    EXPECT_FALSE(plain.listeners[0].tls);
    EXPECT_FALSE(plain.backends[0].servers[0].tls);
    EXPECT_EQ(plain.backends[0].servers[0].proxy_protocol, proxy_protocol::off);

    const auto c = load(with_tls(site_certificate())).config;
    ASSERT_TRUE(c.listeners[0].tls);
    EXPECT_EQ(c.listeners[0].tls->min_version, tls_version::v1_2);
    EXPECT_EQ(c.listeners[0].tls->ciphers, "intermediate");
    EXPECT_EQ(c.listeners[0].tls->alpn, std::vector<std::string>{"http/1.1"});
}

TEST_F(loader_tls, server_tls_and_proxy_protocol_come_from_server_defaults_key_by_key)
{
    const auto result = load(with_servers("    server_defaults:\n"
                                          "      tls: { ca: ca.crt, sni: app.internal }\n"
                                          "      proxy_protocol: v1\n"
                                          "    servers:\n"
                                          "      - { name: a, address: 127.0.0.1:8001 }\n"
                                          "      - name: b\n"
                                          "        address: 127.0.0.1:8002\n"
                                          "        tls: { sni: b.internal }\n"
                                          "        proxy_protocol: off\n"));
    const auto& servers = result.config.backends[0].servers;
    ASSERT_TRUE(servers[0].tls && servers[1].tls);
    EXPECT_EQ(servers[0].tls->ca, ca.cert);  // resolved beside the config
    EXPECT_EQ(servers[0].tls->sni, "app.internal");
    EXPECT_TRUE(servers[0].tls->verify);
    EXPECT_EQ(servers[0].proxy_protocol, proxy_protocol::v1);
    EXPECT_EQ(servers[1].tls->sni, "b.internal");  // its own
    EXPECT_EQ(servers[1].tls->ca, ca.cert);        // the defaults'
    EXPECT_EQ(servers[1].proxy_protocol, proxy_protocol::off);
    const auto& marks = result.config.marks;
    EXPECT_EQ(marks.at("backends[0].servers[0].tls.ca").path, "backends[0].server_defaults.tls.ca");
    EXPECT_EQ(marks.at("backends[0].servers[1].tls.ca").path, "backends[0].server_defaults.tls.ca");
    EXPECT_EQ(marks.at("backends[0].servers[0].proxy_protocol").path,
              "backends[0].server_defaults.proxy_protocol");
    EXPECT_TRUE(result.warnings.empty());
}

TEST_F(loader_tls, server_tls_keys_are_read)
{
    const auto c = load(with_servers("    servers:\n"
                                     "      - address: 10.0.0.5:8443\n"
                                     "        tls: { sni: app.internal, ca: " +
                                     ca.cert +
                                     ", verify: true }\n"
                                     "        proxy_protocol: v2\n"))
                       .config;
    const auto& s = c.backends[0].servers[0];
    ASSERT_TRUE(s.tls);
    EXPECT_EQ(s.tls->sni, "app.internal");
    EXPECT_EQ(s.tls->ca, ca.cert);
    EXPECT_TRUE(s.tls->verify);
    EXPECT_EQ(s.tls->mark.path, "backends[0].servers[0].tls");
    EXPECT_EQ(s.proxy_protocol, proxy_protocol::v2);
    // `tls: {}` is TLS with the defaults: the system's CA store, verified, SNI from the address.
    const auto defaults = load(with_servers("    servers: [{ address: 10.0.0.5:8443, tls: {} }]\n"))
                              .config.backends[0]
                              .servers[0];
    ASSERT_TRUE(defaults.tls);
    EXPECT_EQ(defaults.tls->ca, "");
    EXPECT_EQ(defaults.tls->sni, "");
    EXPECT_TRUE(defaults.tls->verify);
}

TEST_F(loader_tls, each_key_error_names_line_column_path_and_the_fix)
{
    const auto cert_lines = site_certificate();
    struct error_case {
        std::string yaml;
        std::vector<std::string> errors;
    };
    const error_case cases[] = {
        {with_tls(cert_lines + "      min_version: \"1.1\"\n"),
         {"t.yaml:8:20: listeners[0].tls.min_version: \"1.1\" is not offered: TLS 1.0 and 1.1 are "
          "deprecated (RFC 8996) and current browsers refuse them; expected \"1.2\" or \"1.3\""}},
        {with_tls(cert_lines + "      min_version: 1.4\n"),
         {"t.yaml:8:20: listeners[0].tls.min_version: \"1.4\" is not allowed here; expected one "
          "of 1.2, 1.3; did you mean `1.2`?"}},
        {with_tls(cert_lines + "      cipher: modern\n"),
         {"t.yaml:8:7: listeners[0].tls.cipher: unknown key; did you mean `ciphers`?"}},
        {with_tls("      certificates:\n        - cert: " + site.cert + "\n"),
         {"t.yaml:6:11: listeners[0].tls.certificates[0].key: missing; add e.g. `key: "
          "/etc/sluice/tls/site.key`"}},
        {with_tls("      certificates:\n        - cert: \"\"\n          key: " + site.key + "\n"),
         {"t.yaml:6:17: listeners[0].tls.certificates[0].cert: is empty; expected the path of a "
          "PEM file"}},
        {with_tls("      certificates: " + site.cert + "\n"),
         {"t.yaml:5:21: listeners[0].tls.certificates: \"" + site.cert +
              "\"; expected a list (\"- item\" lines or [a, b])",
          "t.yaml:5:21: listeners[0].tls.certificates: none; a TLS listener needs at least one, "
          "e.g. `certificates: [{ cert: /etc/sluice/tls/site.crt, key: /etc/sluice/tls/site.key "
          "}]` (or remove tls to serve plain HTTP)"}},
        {with_servers("    servers: [{ address: 127.0.0.1:8000, proxy_protocol: v3 }]\n"),
         {"t.yaml:5:58: backends[0].servers[0].proxy_protocol: \"v3\" is not allowed here; "
          "expected one of off, v1, v2, any; did you mean `v1`?"}},
        {with_servers("    servers: [{ address: 127.0.0.1:8000, tls: { verfy: false } }]\n"),
         {"t.yaml:5:49: backends[0].servers[0].tls.verfy: unknown key; did you mean `verify`?"}},
        {with_servers("    servers: [{ address: 127.0.0.1:8000, tls: { verify: maybe } }]\n"),
         {"t.yaml:5:57: backends[0].servers[0].tls.verify: \"maybe\" is not allowed here; "
          "expected one of on, off, true, false"}},
        {with_servers("    server_defaults: { tls: on }\n"
                      "    servers: [{ address: 127.0.0.1:8000 }]\n"),
         {"t.yaml:5:29: backends[0].server_defaults.tls: \"on\"; expected a map of key: value"}},
    };
    for (const auto& c : cases) EXPECT_EQ(errors_of(c.yaml), c.errors) << c.yaml;
}

}  // namespace
}  // namespace sluice::config
