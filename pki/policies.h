// Required certificate policies per partner (RFC 5280 §4.2.1.4, §6.1), as far as we check them.
// SECURITY: the certificates are untrusted; only their certificatePolicies OIDs are read.
//
// SIMPLIFICATION (GnuTLS 3.7 has no policy-tree processing): instead of the full valid_policy_tree
// of RFC 5280 §6.1 with initial-explicit-policy set, the end entity must assert one of the
// required OIDs itself, and every intermediate CA of the path must assert that same OID or
// anyPolicy (2.5.29.32.0). The trust anchor is not examined (RFC 5280 §6.1). Not honoured here:
// policyMappings (a mapped path fails: conservative), policy qualifiers; policyConstraints and
// inhibitAnyPolicy are applied by check_policy_constraints below. An end entity asserting only
// anyPolicy does not satisfy a requirement.
#pragma once
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "pki/certificate.h"

namespace ssm::pki {

inline constexpr std::string_view oid_any_policy = "2.5.29.32.0";

// The dotted OIDs of a certificate's certificatePolicies (empty: no extension).
std::vector<std::string> certificate_policies(const Certificate& cert);

// RFC 5280 §6.1 policy processing for what a path itself demands, with the user-initial-
// policy-set {anyPolicy} and initial-explicit-policy false: a CA's requireExplicitPolicy
// (policyConstraints) makes a valid policy necessary from the given depth on, and
// inhibitAnyPolicy stops anyPolicy from standing for any policy. SIMPLIFICATION: the valid
// policy tree is kept as the set of its valid policies (what it is without policy mappings;
// GnuTLS 3.7 refuses a path with critical policyMappings, non-critical ones are not applied,
// which can only refuse). `chain`: the end entity then the intermediates (anchor excluded).
// nullopt when the path's policies hold; otherwise the reason.
std::optional<std::string> check_policy_constraints(const std::vector<const Certificate*>& chain);

// `chain` is the end entity then the intermediates (anchor excluded). nullopt when one of
// `required` is satisfied along the whole chain (or `required` is empty); otherwise the reason.
std::optional<std::string> check_required_policies(const std::vector<const Certificate*>& chain,
                                                   std::span<const std::string> required);

}  // namespace ssm::pki
