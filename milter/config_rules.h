// Internal to the configuration loader: [policy], [[domain]] and [[rule]] (config_rules.cpp),
// and the bridge that lets policy/ conditions use the milter's CIDR networks.
// Input is the administrator's TOML file and the list files it names (trusted, checked).
#pragma once
#include <memory>
#include <vector>

#include "milter/config_loader.h"
#include "milter/network.h"
#include "policy/policy.h"

namespace ssm::milter {

// A `client` condition network backed by milter::Network (the internal_networks parser).
std::shared_ptr<const policy::ClientNetwork> client_network(const Network& n);

namespace config_detail {

// Reads [policy] recipient_delimiter (for our [[domain]]s), partner_recipient_delimiters and
// partner_recipient_delimiter (for every other domain) into c.address_extensions; before the
// rules and the [[clearance]] entries, whose address patterns use them. Returns our
// [[domain]]s, which it reads for that and load_policy takes.
std::vector<policy::OwnDomain> load_address_extensions(Loader& L, const toml::table& root, Config& c);

// Builds c.policy from the root table and `own_domains` (load_address_extensions); list files
// are read relative to the folder of c.path. Throws ConfigError naming file:line:column (of
// the TOML or of a list file).
void load_policy(Loader& L, const toml::table& root, Config& c, std::vector<policy::OwnDomain> own_domains);

}  // namespace config_detail

}  // namespace ssm::milter
