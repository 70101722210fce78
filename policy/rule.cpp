// Rule scopes: names and parsing (configuration values).
#include "policy/rule.h"

namespace ssm::policy {

const char* scope_name(Scope s)
{
    switch (s) {
    case Scope::User: return "user";
    case Scope::Domain: return "domain";
    case Scope::Global: return "global";
    }
    return "global";
}

std::optional<Scope> parse_scope(std::string_view s)
{
    if (s == "user") return Scope::User;
    if (s == "domain") return Scope::Domain;
    if (s == "global") return Scope::Global;
    return std::nullopt;
}

}  // namespace ssm::policy
