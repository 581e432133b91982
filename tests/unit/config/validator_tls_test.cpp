// SPEC.md "TLS and the PROXY protocol": what `sluice check`, `run` and a reload refuse or warn
// about (config/validator_tls), with certificates made for each test.

#include "config/validator.hpp"

#include "config/loader.hpp"
#include "config/tls_files.hpp"
#include "support/test_certificates.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace sluice::config {
namespace {

using namespace std::chrono;

class validator_tls : public ::testing::Test {
protected:
    test::scratch_dir dir{"sluice-validator-tls"};
    const system_time now = system_clock::now();
    test::pem_files site = test::write_self_signed(dir.path(), "site", {.names = {"example.com"}});

    // Listener `web` with `tls_lines` under tls: (line 5 on), then a backend; `server_lines`
    // replace its one plain server.
    static std::string config(
        const std::string& tls_lines,
        const std::string& server_lines = "      - { name: a, address: 127.0.0.1:8000 }\n")
    {
        return "listeners:\n  - name: web\n    bind: 127.0.0.1:8443\n    tls:\n" + tls_lines +
               "backends:\n  - name: app\n    servers:\n" + server_lines;
    }
    // A certificate list of one pair, lines 5-7.
    static std::string certificate(const test::pem_files& f)
    {
        return "      certificates:\n        - cert: " + f.cert + "\n          key: " + f.key +
               "\n";
    }
    // "error: ..." / "warning: ..." from loading `yaml` (errors throw, so it is one or the other).
    static std::vector<std::string> findings(const std::string& yaml)
    {
        std::vector<std::string> out;
        try {
            for (auto& w : load_string(yaml, "t.yaml").warnings) out.push_back("warning: " + w);
        } catch (const config_error& e) {
            for (const auto& line : e.errors()) out.push_back("error: " + line);
        }
        return out;
    }
};

TEST_F(validator_tls, a_usable_tls_listener_has_no_findings)
{
    EXPECT_EQ(findings(config(certificate(site))), std::vector<std::string>{});
    // modern means TLS 1.3 only: a floor of 1.2 under it is accepted, not contradicted.
    EXPECT_EQ(findings(config(certificate(site) + "      min_version: \"1.2\"\n"
                                                  "      ciphers: modern\n")),
              std::vector<std::string>{});
    EXPECT_EQ(findings("listeners:\n  - name: web\n    bind: unix:/run/sluice/web.sock\n"
                       "    tls:\n" +
                       certificate(site) +
                       "backends:\n  - name: app\n    servers: [{ address: 127.0.0.1:8000 }]\n"),
              std::vector<std::string>{});
}

TEST_F(validator_tls, each_listener_error_says_what_where_and_how_to_fix_it)
{
    const auto other = test::write_self_signed(dir.path(), "other");
    const auto expired = test::write_self_signed(
        dir.path(), "expired", {.not_before = now - days(90), .not_after = now - days(1)});
    const auto missing = (dir.path() / "missing.crt").string();
    const auto mismatched = test::pem_files{site.cert, other.key};
    struct error_case {
        std::string yaml;
        std::vector<std::string> expected;
    };
    const error_case cases[] = {
        {config("      certificates: []\n"),
         {"error: t.yaml:5:21: listeners[0].tls.certificates: none; a TLS listener needs at least "
          "one, e.g. `certificates: [{ cert: /etc/sluice/tls/site.crt, key: "
          "/etc/sluice/tls/site.key }]` (or remove tls to serve plain HTTP)"}},
        {config("      min_version: \"1.3\"\n"),
         {"error: t.yaml:5:7: listeners[0].tls.certificates: none; a TLS listener needs at least "
          "one, e.g. `certificates: [{ cert: /etc/sluice/tls/site.crt, key: "
          "/etc/sluice/tls/site.key }]` (or remove tls to serve plain HTTP)"}},
        {config(certificate({missing, site.key})),
         {"error: t.yaml:6:17: listeners[0].tls.certificates[0].cert: \"" + missing +
          "\" cannot be read: No such file or directory; check the path (relative to the config "
          "file's directory) and that uid " +
          std::to_string(::geteuid()) + " may read it"}},
        {config(certificate(mismatched)),
         {"error: t.yaml:7:16: listeners[0].tls.certificates[0].key: the key in \"" + other.key +
          "\" does not match the certificate in \"" + site.cert +
          "\"; give the key the certificate was issued for (the outputs of `openssl x509 -noout "
          "-pubkey -in CERT` and `openssl pkey -pubout -in KEY` must be the same)"}},
        {config(certificate(expired)),
         {"error: t.yaml:6:17: listeners[0].tls.certificates[0].cert: \"" + expired.cert +
          "\" expired on " + format_utc(floor<seconds>(now - days(1))) +
          "; renew it (e.g. certbot renew) and reload"}},
        {config(certificate(site) + "      ciphers: AES-TOP-SECRET\n"),
         {"error: t.yaml:8:16: listeners[0].tls.ciphers: \"AES-TOP-SECRET\" selects no cipher "
          "OpenSSL knows; expected intermediate, modern, or an OpenSSL cipher string for TLS 1.2 "
          "(e.g. ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256; `openssl ciphers -v "
          "STRING` shows what one selects)"}},
        {config(certificate(site) + "      alpn: [http/1.1, h2]\n"),
         {"error: t.yaml:8:24: listeners[0].tls.alpn[1]: \"h2\" is not offered: sluice speaks "
          "HTTP/1.1 only, to clients and to servers; expected [http/1.1] (a client that offers "
          "only h2 then fails the handshake instead of being misread)"}},
        {config(certificate(site) + "      alpn: h2\n"),
         {"error: t.yaml:8:13: listeners[0].tls.alpn[0]: \"h2\" is not offered: sluice speaks "
          "HTTP/1.1 only, to clients and to servers; expected [http/1.1] (a client that offers "
          "only h2 then fails the handshake instead of being misread)"}},
    };
    for (const auto& c : cases) EXPECT_EQ(findings(c.yaml), c.expected) << c.yaml;
}

TEST_F(validator_tls, each_server_finding_says_what_where_and_how_to_fix_it)
{
    const auto missing = (dir.path() / "ca.pem").string();
    const std::string verify_off =
        "backends[0].servers[0].tls.verify: is false: sluice accepts any certificate from this "
        "server, a man in the middle's included; set verify: true, with ca: the CA that signed "
        "the server's certificate (default: the system's store) and sni: the name it carries";
    struct server_case {
        std::string servers;
        std::vector<std::string> expected;
    };
    const server_case cases[] = {
        {"      - { name: a, address: 127.0.0.1:8000, proxy_protocol: any }\n",
         {"error: t.yaml:11:61: backends[0].servers[0].proxy_protocol: \"any\" is for listeners, "
          "which accept either version; to a server sluice sends one: v1 or v2, whichever the "
          "server reads (gunicorn's --proxy-protocol reads v1), or off"}},
        {"      - { name: a, address: 127.0.0.1:8000, tls: { ca: " + missing + " } }\n",
         {"error: t.yaml:11:56: backends[0].servers[0].tls.ca: \"" + missing +
          "\" cannot be read: No such file or directory; check the path (relative to the config "
          "file's directory) and that uid " +
          std::to_string(::geteuid()) + " may read it"}},
        {"      - { name: a, address: 127.0.0.1:8000, tls: { ca: " + site.key + " } }\n",
         {"error: t.yaml:11:56: backends[0].servers[0].tls.ca: \"" + site.key +
          "\" holds no PEM certificate (no \"-----BEGIN CERTIFICATE-----\" line); expected the CA "
          "certificates that signed the server's certificate, in PEM"}},
        {"      - name: a\n        address: 127.0.0.1:8000\n        tls:\n"
         "          verify: false\n",
         {"warning: t.yaml:14:19: " + verify_off}},
        {"      - { name: a, address: 127.0.0.1:8000, tls: { verify: off } }\n",
         {"warning: t.yaml:11:60: " + verify_off}},
    };
    for (const auto& c : cases)
        EXPECT_EQ(findings(config(certificate(site), c.servers)), c.expected) << c.servers;
}

TEST_F(validator_tls, server_defaults_findings_are_said_once_at_the_defaults)
{
    const auto with_defaults = config(certificate(site),
                                      "      - { name: a, address: 127.0.0.1:8000 }\n"
                                      "      - { name: b, address: 127.0.0.1:8001 }\n");
    auto text = with_defaults;
    text.insert(text.find("    servers:"),
                "    server_defaults: { tls: { verify: false }, proxy_protocol: any }\n");
    EXPECT_EQ(findings(text),
              (std::vector<std::string>{
                  "error: t.yaml:10:64: backends[0].server_defaults.proxy_protocol: \"any\" is for "
                  "listeners, which accept either version; to a server sluice sends one: v1 or "
                  "v2, whichever the server reads (gunicorn's --proxy-protocol reads v1), or "
                  "off"}));
    text.replace(text.find("proxy_protocol: any"), 19, "proxy_protocol: v1");
    EXPECT_EQ(findings(text),
              (std::vector<std::string>{
                  "warning: t.yaml:10:39: backends[0].server_defaults.tls.verify: is false: "
                  "sluice accepts any certificate from this server, a man in the middle's "
                  "included; set verify: true, with ca: the CA that signed the server's "
                  "certificate (default: the system's store) and sni: the name it carries"}));
}

TEST_F(validator_tls, a_certificate_expiring_within_14_days_is_a_warning_with_date_and_days_left)
{
    const auto not_after = floor<seconds>(now + days(5) + hours(1));
    const auto soon = test::write_self_signed(
        dir.path(), "soon", {.names = {"example.com", "www.example.com"}, .not_after = not_after});
    EXPECT_EQ(findings(config(certificate(soon))),
              std::vector<std::string>{
                  "warning: t.yaml:6:17: listeners[0].tls.certificates[0].cert: \"" + soon.cert +
                  "\" (example.com, www.example.com) expires on " + format_utc(not_after) +
                  ", in 5 days; renew it (e.g. certbot renew) and reload (SIGHUP): new handshakes "
                  "then use the new file"});
    const auto later = test::write_self_signed(
        dir.path(), "later", {.not_after = now + days(expiry_warning) + hours(1)});
    EXPECT_EQ(findings(config(certificate(later))), std::vector<std::string>{});
}

TEST_F(validator_tls, validate_judges_expiry_at_the_time_it_is_given)
{
    const auto not_after = floor<seconds>(now + days(365));
    const auto year = test::write_self_signed(dir.path(), "year", {.not_after = not_after});
    const auto c = load_string(config(certificate(year)), "t.yaml").config;
    EXPECT_TRUE(validate(c, now).empty());
    const auto found = validate(c, not_after - hours(12));
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found[0].level, diagnostic::severity::warning);
    EXPECT_NE(found[0].message.find("expires on " + format_utc(not_after) +
                                    ", in less than a day;"),
              std::string::npos)
        << found[0].message;
    const auto after = validate(c, not_after + hours(1));
    ASSERT_EQ(after.size(), 1u);
    EXPECT_EQ(after[0].level, diagnostic::severity::error);
}

TEST_F(validator_tls, a_certificate_not_valid_yet_is_a_warning)
{
    const auto not_before = floor<seconds>(now + days(2));
    const auto future = test::write_self_signed(dir.path(), "future", {.not_before = not_before});
    EXPECT_EQ(findings(config(certificate(future))),
              std::vector<std::string>{
                  "warning: t.yaml:6:17: listeners[0].tls.certificates[0].cert: \"" + future.cert +
                  "\" (localhost) is not valid before " + format_utc(not_before) +
                  ": clients refuse it until then; check this machine's clock and the "
                  "certificate's dates"});
}

// SIGHUP and POST /reload load the file again (proxy/runtime: config::load_file); a config error
// keeps the old config. A certificate broken since the last load must be such an error.
TEST_F(validator_tls, a_reload_after_the_certificate_broke_is_a_config_error_naming_the_file)
{
    const auto path = (dir.path() / "sluice.yaml").string();
    std::ofstream(path) << config(certificate(site));
    EXPECT_NO_THROW(load_file(path));
    const auto other = test::write_self_signed(dir.path(), "other");
    std::filesystem::copy_file(other.key, site.key,
                               std::filesystem::copy_options::overwrite_existing);
    try {
        load_file(path);
        FAIL() << "a mismatched key was accepted";
    } catch (const config_error& e) {
        ASSERT_EQ(e.errors().size(), 1u);
        EXPECT_TRUE(e.errors()[0].starts_with(path +
                                              ":7:16: listeners[0].tls.certificates[0].key: "
                                              "the key in \"" +
                                              site.key + "\" does not match"))
            << e.errors()[0];
    }
}

}  // namespace
}  // namespace sluice::config
