// RFC 5913 path processing of clearances; see clearance_constraints.h. Inputs are decoded
// values (bounded by the decoders: at most 257 classList bits, 64 categories, 64 constraints).
#include "policy/clearance_constraints.h"

#include <algorithm>
#include <iterator>

namespace ssm::policy {

namespace {

const ClearanceValue* for_policy(const std::vector<ClearanceValue>& values, const std::string& policy_id)
{
    const auto it = std::find_if(values.begin(), values.end(),
                                 [&](const ClearanceValue& v) { return v.policy_id == policy_id; });
    return it == values.end() ? nullptr : &*it;
}

}  // namespace

std::optional<ClearanceValue> intersect_clearance(const ClearanceValue& a, const ClearanceValue& b)
{
    ClearanceValue out;
    out.policy_id = a.policy_id;
    out.syntax = a.syntax;
    std::vector<int> x = a.classes, y = b.classes;  // the decoder sorts them; the encoder's callers may not
    std::sort(x.begin(), x.end());
    std::sort(y.begin(), y.end());
    std::set_intersection(x.begin(), x.end(), y.begin(), y.end(), std::back_inserter(out.classes));
    out.classes.erase(std::unique(out.classes.begin(), out.classes.end()), out.classes.end());
    if (out.classes.empty()) return std::nullopt;
    out.class_list_default = a.class_list_default;  // then the classes are {unclassified}, as before
    // A category is kept when the other side lists the very same one. Categories whose values
    // enumerate several things (bitmaps, lists) are not split: an unequal value is dropped,
    // which can only grant less than a finer intersection would.
    for (const auto& c : a.categories)
        if (std::find(b.categories.begin(), b.categories.end(), c) != b.categories.end()) out.categories.push_back(c);
    return out;
}

PermittedClearances narrow_permitted(const PermittedClearances& permitted,
                                     const std::vector<ClearanceValue>& ca_constraints)
{
    if (!permitted) {
        // "any" meets the CA's list: the list, less policies it permits no classification of.
        std::vector<ClearanceValue> out;
        for (const auto& c : ca_constraints)
            if (!c.classes.empty()) out.push_back(c);
        return out;
    }
    std::vector<ClearanceValue> out;
    for (const auto& p : *permitted) {
        const ClearanceValue* c = for_policy(ca_constraints, p.policy_id);
        if (!c) continue;  // this CA does not vouch for the policy at all
        if (auto both = intersect_clearance(p, *c)) out.push_back(std::move(*both));
    }
    return out;
}

std::vector<ClearanceValue> constrain_clearances(const std::vector<ClearanceValue>& end_entity,
                                                 std::span<const std::vector<ClearanceValue>> ca_constraints)
{
    PermittedClearances permitted;
    for (const auto& constraints : ca_constraints) permitted = narrow_permitted(permitted, constraints);
    if (!permitted) return end_entity;
    std::vector<ClearanceValue> out;
    for (const auto& v : end_entity) {
        const ClearanceValue* allowed = for_policy(*permitted, v.policy_id);
        if (!allowed) continue;
        if (auto both = intersect_clearance(v, *allowed)) out.push_back(std::move(*both));
    }
    return out;
}

}  // namespace ssm::policy
