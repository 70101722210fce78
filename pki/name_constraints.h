// Name constraints of a certification path (RFC 5280 §4.2.1.10, §6.1.3 (b), (c)), all forms:
// directoryName, rfc822Name, dNSName, iPAddress and URI, permitted and excluded subtrees.
// SECURITY: certificates, their names and the constraints are untrusted; a name that does not
// read, under a CA that constrains names of its form, fails; so does any name below a CA whose
// nameConstraints extension does not read. A name of a form we do not compare (otherName,
// x400Address, ediPartyName, registeredID) fails under a CA with subtrees of that form.
//
// Each CA's subtrees, the trust anchor's included (an administrator who anchors a partner's
// constrained CA means them), bind the names of every certificate below it: the end entity always,
// intermediates unless self-issued (§6.1.3 (b): key rollover certificates are exempt). GnuTLS
// 3.7.9 applies only some forms, to the end entity only, and refuses any excluded directoryName
// or URI subtree outright; TrustStore::check_path relies on this instead (see there).
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "pki/certificate.h"

namespace ssm::pki {

struct NameViolation {
    std::size_t certificate;  // index in the chain of the certificate whose name breaks a constraint
    std::size_t ca;           // index in the chain of the CA whose constraint it breaks
    std::string rule;         // e.g. "has rfc822Name 'a@b.example' outside the permitted subtrees"
};

// `chain`: the end entity, the intermediates, then the trust anchor. nullopt when every name
// of every certificate lies within the constraints of every CA above it.
std::optional<NameViolation> check_name_constraints(const std::vector<const Certificate*>& chain);

}  // namespace ssm::pki
