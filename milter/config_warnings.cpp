// The configuration's warnings in one list (config_warnings.h says why).
#include "milter/config_warnings.h"

#include <map>

#include "milter/receipt_answer.h"

namespace ssm::milter {

std::vector<std::string> configuration_warnings(const Config& config)
{
    std::vector<std::string> warnings;
    for (const auto& w : config.not_yet_in_force) warnings.push_back(w + " is read but not yet in force in this version");
    for (auto& w : receipt_answer_warnings(config)) warnings.push_back(std::move(w));
    for (const auto& w : config.address_extensions.warnings()) warnings.push_back(w);
    // The deciding rule is named by its name alone (the message log line's detail, ssmctl
    // policy test and process): two rules of one name cannot be told apart there.
    std::map<std::string, int> rules_named;
    for (const auto& r : config.policy.rules()) ++rules_named[r.name];
    for (const auto& [name, count] : rules_named)
        if (count > 1)
            warnings.push_back("[[rule]] name \"" + name + "\" names " + std::to_string(count) +
                               " rules: the log and ssmctl policy test, which name the deciding rule, "
                               "cannot tell them apart");
    // The default asks for copies that only [reinjection] can send: said before the first blind
    // copy is refused, so that it is no surprise.
    if (config.encryption.blind_copies == BlindCopies::Separate && !config.reinjection.enabled())
        warnings.push_back(
            "[encryption] blind_copies is \"separate\" but [reinjection] is not configured: "
            "encrypted mail whose blind copy recipients need copies of their own is refused "
            "(550 5.7.1); configure [reinjection] or set blind_copies = \"together\"");
    return warnings;
}

}  // namespace ssm::milter
