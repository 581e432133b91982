#include "config/loader_tls.hpp"

#include <filesystem>

namespace sluice::config::yaml {
namespace {

// A file path, relative ones taken from the config file's directory (as admin.token_file).
void read_path(reader& r, const node& n, const std::string& path, std::string& out,
               bool empty_allowed)
{
    std::string text;
    if (!r.text(n, path, text)) return;
    if (text.empty() && !empty_allowed)
        return r.error(n, path, "is empty; expected the path of a PEM file");
    std::filesystem::path p = text;
    if (!text.empty() && p.is_relative() && r.file.find('/') != std::string::npos)
        p = std::filesystem::path(r.file).parent_path() / p;
    out = p.string();
}

const field<tls_certificate> certificate_fields[] = {
    {"cert", [](auto& r, auto& n, auto& p, auto& c) { read_path(r, n, p, c.cert, false); }},
    {"key", [](auto& r, auto& n, auto& p, auto& c) { read_path(r, n, p, c.key, false); }},
};

void read_min_version(reader& r, const node& n, const std::string& path, listener_tls& t)
{
    if (n.IsScalar() && (n.Scalar() == "1.0" || n.Scalar() == "1.1")) {
        return r.error(n, path,
                       yaml::quoted(n.Scalar()) +
                           " is not offered: TLS 1.0 and 1.1 are deprecated (RFC 8996) and "
                           "current browsers refuse them; expected \"1.2\" or \"1.3\"");
    }
    r.choice(n, path, t.min_version, {{"1.2", tls_version::v1_2}, {"1.3", tls_version::v1_3}});
}

// One protocol (`alpn: http/1.1`) or a list; each item's mark is kept for the validator, which
// says why only http/1.1 is offered.
void read_alpn(reader& r, const node& n, const std::string& path, listener_tls& t)
{
    std::vector<std::string> protocols;
    const auto read_one = [&](const node& item, const std::string& p) {
        std::string text;
        if (!r.text(item, p, text)) return;
        r.marks[p] = r.mark(item, p);
        protocols.push_back(std::move(text));
    };
    if (n.IsScalar())
        read_one(n, path + "[0]");
    else
        walk_list(r, n, path, read_one);
    t.alpn = std::move(protocols);
}

const field<listener_tls> listener_tls_fields[] = {
    {"certificates",
     [](auto& r, auto& n, auto& p, auto& t) {
         read_items(r, n, p, certificate_fields, t.certificates,
                    {{"cert", "cert: /etc/sluice/tls/site.crt"},
                     {"key", "key: /etc/sluice/tls/site.key"}});
     }},
    {"min_version", read_min_version},
    {"ciphers", [](auto& r, auto& n, auto& p, auto& t) { r.text(n, p, t.ciphers); }},
    {"alpn", read_alpn},
};

const field<server_tls> server_tls_fields[] = {
    {"sni", [](auto& r, auto& n, auto& p, auto& t) { r.text(n, p, t.sni); }},
    {"ca", [](auto& r, auto& n, auto& p, auto& t) { read_path(r, n, p, t.ca, true); }},
    {"verify", [](auto& r, auto& n, auto& p, auto& t) { read_switch(r, n, p, t.verify); }},
};

// Every mark recorded under `from` (the key and its sub-keys) copied under `to`.
void copy_marks(reader& r, const std::string& from, const std::string& to)
{
    std::vector<std::pair<std::string, source_mark>> copies;
    for (auto it = r.marks.lower_bound(from); it != r.marks.end(); ++it) {
        const auto& key = it->first;
        if (!key.starts_with(from)) break;
        const auto rest = key.substr(from.size());
        if (!rest.empty() && rest[0] != '.' && rest[0] != '[') continue;
        copies.emplace_back(to + rest, it->second);
    }
    for (auto& [key, mark] : copies) r.marks[key] = std::move(mark);
}

}  // namespace

void read_listener_tls(reader& r, const node& n, const std::string& path, listener& l)
{
    auto& t = l.tls.emplace();
    t.mark = r.mark(n, path);
    read_map(r, n, path, listener_tls_fields, t);
}

void read_server_tls(reader& r, const node& n, const std::string& path, server& s)
{
    auto& t = s.tls.emplace();
    t.mark = r.mark(n, path);
    read_map(r, n, path, server_tls_fields, t);
}

void read_proxy_protocol(reader& r, const node& n, const std::string& path, proxy_protocol& out)
{
    r.choice(n, path, out,
             {{"off", proxy_protocol::off},
              {"v1", proxy_protocol::v1},
              {"v2", proxy_protocol::v2},
              {"any", proxy_protocol::any}});
}

void inherit_server_tls(reader& r, const server& defaults, const std::string& defaults_path,
                        server& s)
{
    const auto from = defaults_path + ".tls", own = s.mark.path + ".tls";
    if (!defaults.tls || !r.declared(from)) return;
    if (!s.tls) {
        s.tls = defaults.tls;
        copy_marks(r, from, own);
        return;
    }
    const auto inherit = [&](std::string_view key, auto member) {
        const auto own_key = own + "." + std::string(key), from_key = from + "." + std::string(key);
        if (r.declared(own_key) || !r.declared(from_key)) return;
        (*s.tls).*member = (*defaults.tls).*member;
        r.marks[own_key] = r.marks[from_key];
    };
    inherit("sni", &server_tls::sni);
    inherit("ca", &server_tls::ca);
    inherit("verify", &server_tls::verify);
}

}  // namespace sluice::config::yaml
