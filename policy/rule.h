// One [[rule]]: its name, its scope (the layer it belongs to), its conditions and its
// actions. Built by the configuration loader from the administrator's file (trusted).
#pragma once
#include <optional>
#include <string>
#include <string_view>

#include "policy/match.h"
#include "policy/treatment.h"

namespace ssm::policy {

// Layers of rules. Every user rule is tried before every domain rule, and every domain
// rule before every global rule; within a layer the first matching rule in file order
// wins. So an administrator overrides a domain's rule for one user by adding a user rule,
// wherever it is written in the file.
enum class Scope { User, Domain, Global };
const char* scope_name(Scope s);
std::optional<Scope> parse_scope(std::string_view s);

// The actions are the Treatment base (absent keys already filled from [policy] by the
// loader), so `rule.encrypt` reads as the configuration does.
struct Rule : Treatment {
    std::string name;
    Scope scope = Scope::Global;
    Conditions when;
};

}  // namespace ssm::policy
