#pragma once
// Private to the loader (loader.cpp and loader_discovery.cpp): the keys of SPEC.md "Servers found
// by DNS" (backends[].discovery) and scale_out.peers. Whether dns or srv is set, and the limits of
// each value, are the validator's part (validator_discovery.cpp).

#include "config/yaml_reader.hpp"

namespace sluice::config::yaml {

// backends[].discovery: { dns, port, srv, interval, resolvers, timeout, max_servers }
void read_discovery(reader& r, const node& n, const std::string& path, backend& b);

// scale_out.peers: { dns, interval, resolvers }
void read_peers(reader& r, const node& n, const std::string& path, scale_out& s);

}  // namespace sluice::config::yaml
