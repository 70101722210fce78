// Authority Clearance Constraints (RFC 5913 §4): what the CAs of a certification path let an
// end entity's own Clearance values grant. Pure computation over decoded values; the caller
// finds the path and decodes the extensions (milter/certificate_clearances). The clearances
// and constraints come from certificates: decoded strictly, but still claims to be narrowed.
#pragma once
#include <optional>
#include <span>
#include <vector>

#include "smime/cms/clearance.h"

namespace ssm::policy {

using smime::cms::ClearanceValue;

// The clearances the path permits so far: nullopt before any CA constrained it ("any"), else
// at most one value per policy; a policy not listed is not permitted at all.
using PermittedClearances = std::optional<std::vector<ClearanceValue>>;

// The intersection of two clearances of one policy: the classList bits both have, the
// security categories both list (compared whole: type and DER value, as labels are checked),
// `a`'s syntax and DEFAULT marker: a value nothing narrowed compares equal to `a`. nullopt
// when no classification is left (no clearance for that policy).
std::optional<ClearanceValue> intersect_clearance(const ClearanceValue& a, const ClearanceValue& b);

// One CA certificate's constraints (decoded, one value per policy) applied to the permitted
// set: "any" becomes the constraints; otherwise each permitted policy is intersected with the
// CA's value for it, and removed when the CA names no such policy or nothing is left.
PermittedClearances narrow_permitted(const PermittedClearances& permitted,
                                     const std::vector<ClearanceValue>& ca_constraints);

// The end entity's clearances as the path lets them stand (RFC 5913 §4): `ca_constraints` are
// the constraints of the path's CA certificates that carry the extension, trust anchor first
// (order does not change the result, only the steps). Each clearance is intersected with the
// permitted value of its policy; one whose policy is not permitted, or with no classification
// left, is dropped. No constraints at all: the clearances unchanged.
std::vector<ClearanceValue> constrain_clearances(const std::vector<ClearanceValue>& end_entity,
                                                 std::span<const std::vector<ClearanceValue>> ca_constraints);

}  // namespace ssm::policy
