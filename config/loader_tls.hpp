#pragma once
// Private to the loader (loader.cpp and loader_tls.cpp): the keys of SPEC.md "TLS and the PROXY
// protocol" on listeners, servers and server_defaults. Paths (cert, key, ca) are stored resolved
// against the config file's directory, as admin.token_file is read; whether the files are usable
// is the validator's part (validator_tls.cpp), so `check`, `run` and a reload refuse alike.

#include "config/yaml_reader.hpp"

namespace sluice::config::yaml {

// listeners[].tls: { certificates: [{ cert, key }], min_version, ciphers, alpn }
void read_listener_tls(reader& r, const node& n, const std::string& path, listener& l);

// servers[].tls (and server_defaults.tls): { sni, ca, verify }
void read_server_tls(reader& r, const node& n, const std::string& path, server& s);

// off | v1 | v2 | any, for listeners and servers alike; `any` on a server is the validator's
// error, which can say why.
void read_proxy_protocol(reader& r, const node& n, const std::string& path, proxy_protocol& out);

// server_defaults.tls applies to a server without its own tls block; a server with one takes
// from the defaults each key (sni, ca, verify) it does not set. Marks move with the values, so a
// finding about an inherited key points at the server_defaults line.
void inherit_server_tls(reader& r, const server& defaults, const std::string& defaults_path,
                        server& s);

}  // namespace sluice::config::yaml
