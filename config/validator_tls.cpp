// The rules of SPEC.md "TLS and the PROXY protocol" that need more than one value or a file:
// a TLS listener's certificates (read now, so `check`, `run` and a SIGHUP reload refuse the same
// broken file, and a reload keeps the old config), its cipher string and ALPN list; a server's
// CA file, `verify: false`, and `proxy_protocol: any`, which only a listener can mean.

#include "config/checker.hpp"
#include "config/tls_files.hpp"

#include <string>

namespace sluice::config {
namespace {

std::string names_text(const certificate_facts& facts)
{
    std::string out;
    for (const auto& n : facts.names) out += (out.empty() ? "" : ", ") + n;
    return out.empty() ? "no name" : out;
}

std::string days_text(long days)
{
    if (days < 1) return "in less than a day";
    return "in " + std::to_string(days) + (days == 1 ? " day" : " days");
}

void check_dates(checker& c, const tls_certificate& cert, const certificate_facts& facts,
                 system_time now)
{
    const auto file = "\"" + cert.cert + "\" (" + names_text(facts) + ")";
    if (facts.not_after - now < expiry_warning) {
        c.warning(cert.mark, "cert",
                  file + " expires on " + format_utc(facts.not_after) + ", " +
                      days_text(days_between(now, facts.not_after)) +
                      "; renew it (e.g. certbot renew) and reload (SIGHUP): new handshakes then "
                      "use the new file");
    }
    if (facts.not_before > now) {
        c.warning(cert.mark, "cert",
                  file + " is not valid before " + format_utc(facts.not_before) +
                      ": clients refuse it until then; check this machine's clock and the "
                      "certificate's dates");
    }
}

void check_certificates(checker& c, const listener_tls& t, system_time now)
{
    if (t.certificates.empty()) {
        c.error(t.mark, "certificates",
                "none; a TLS listener needs at least one, e.g. `certificates: [{ cert: "
                "/etc/sluice/tls/site.crt, key: /etc/sluice/tls/site.key }]` (or remove tls to "
                "serve plain HTTP)");
    }
    for (const auto& cert : t.certificates) {
        if (cert.cert.empty() || cert.key.empty()) continue;  // reported missing by the loader
        const auto report = inspect_certificate(cert, now);
        if (!report.error.empty())
            c.error(cert.mark, report.key, report.error);
        else
            check_dates(c, cert, report.facts, now);
    }
}

void check_listener_tls(checker& c, const listener_tls& t, system_time now)
{
    check_certificates(c, t, now);
    if (const auto problem = cipher_problem(t.ciphers); !problem.empty())
        c.error(t.mark, "ciphers", problem);
    for (std::size_t i = 0; i < t.alpn.size(); ++i) {
        if (t.alpn[i] == "http/1.1") continue;
        c.error(t.mark, "alpn[" + std::to_string(i) + "]",
                "\"" + t.alpn[i] +
                    "\" is not offered: sluice speaks HTTP/1.1 only, to clients and to servers; "
                    "expected [http/1.1] (a client that offers only h2 then fails the "
                    "handshake instead of being misread)");
    }
}

void check_server(checker& c, const server& s)
{
    if (s.proxy_protocol == proxy_protocol::any) {
        c.error(s.mark, "proxy_protocol",
                "\"any\" is for listeners, which accept either version; to a server sluice sends "
                "one: v1 or v2, whichever the server reads (gunicorn's --proxy-protocol reads "
                "v1), or off");
    }
    if (!s.tls) return;
    if (!s.tls->ca.empty()) {
        if (const auto problem = ca_file_problem(s.tls->ca); !problem.empty())
            c.error(s.tls->mark, "ca", problem);
    }
    if (!s.tls->verify) {
        c.warning(s.tls->mark, "verify",
                  "is false: sluice accepts any certificate from this server, a man in the "
                  "middle's included; set verify: true, with ca: the CA that signed the server's "
                  "certificate (default: the system's store) and sni: the name it carries");
    }
}

}  // namespace

void check_tls(checker& c, const root& config, system_time now)
{
    for (const auto& l : config.listeners)
        if (l.tls) check_listener_tls(c, *l.tls, now);
    for (const auto& b : config.backends)
        for (const auto& s : b.servers) check_server(c, s);
}

}  // namespace sluice::config
