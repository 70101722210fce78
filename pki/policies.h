// Certificate policy processing of a path (RFC 5280 §4.2.1.4, §4.2.1.5, §4.2.1.11, §4.2.1.14,
// §6.1) and the required policies per partner.
// SECURITY: the certificates are untrusted; their policy extensions are read with bounds and a
// value that does not read counts as the strictest one (or refuses the path).
//
// GnuTLS 3.7 has no policy processing (and refuses a path whose certificates mark
// policyMappings or policyConstraints critical; TrustStore lets it pass those two and applies
// them here). This is the valid_policy_tree algorithm of RFC 5280 §6.1.2-§6.1.5 with the
// inputs user-initial-policy-set = the partner's required policies (empty: anyPolicy),
// initial-policy-mapping-inhibit and initial-any-policy-inhibit false (initial-explicit-policy
// true when policies are required has its effect through the final check). Policy qualifiers are not kept (S/MIME has no use for them).
// One deliberate difference from §6.1.5 (g) (iii): a requirement is met only by a policy some
// certificate asserts, not by a path whose certificates all assert anyPolicy alone.
#pragma once
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "pki/certificate.h"

namespace ssm::pki {

inline constexpr std::string_view oid_any_policy = "2.5.29.32.0";

// The dotted OIDs of a certificate's certificatePolicies, each once (empty: no extension).
std::vector<std::string> certificate_policies(const Certificate& cert);

// `chain`: the end entity then the intermediates (anchor excluded: RFC 5280 §6.1 does not
// process the trust anchor's extensions). nullopt when the path's policies hold and one of
// `required` is valid for it (or `required` is empty); otherwise the reason.
std::optional<std::string> check_policies(const std::vector<const Certificate*>& chain,
                                          std::span<const std::string> required);

}  // namespace ssm::pki
