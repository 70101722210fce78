// The CA checks of a certification path (RFC 5280 §6.1.4 (k)-(n)): every issuer a CA
// (basicConstraints cA), its key allowed to sign certificates (keyUsage keyCertSign), and
// pathLenConstraint with self-issued certificates exempt (§6.1.4 (l)).
// SECURITY: the certificates are untrusted; an extension that does not read fails the check.
//
// GnuTLS 3.7 counts self-issued certificates (key rollover) against pathLenConstraint and offers
// no way to exempt them but to turn its whole CA check off (GNUTLS_VERIFY_DISABLE_CA_SIGN, which
// also drops cA and keyCertSign). TrustStore::check_path does that and applies this instead,
// which re-does all of GnuTLS's CA check (lib/x509/verify.c check_if_ca of 3.7.9), including
// its treatment of the trust anchor as the first issuer: a v1 anchor is exempt, a v3 anchor must
// be a CA (or self-issued without basicConstraints) with keyCertSign if it has a keyUsage, and
// its pathLenConstraint counts. Intermediates must carry basicConstraints with cA set (no v1 CAs).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "pki/certificate.h"
#include "pki/trust_store.h"

namespace ssm::pki {

struct CaViolation {
    Problem problem;            // IssuerNotCa or Constraints
    const Certificate* issuer;  // the issuer that breaks the rule (the anchor or one of `chain`)
    std::string rule;           // what it breaks, e.g. "is not a CA (basicConstraints cA not set)"
};

// `chain`: the end entity then the intermediates, `anchor` the trust anchor that issued the last
// one (chain == {anchor} when the end entity is the anchor itself). nullopt when every issuer of
// the path may issue the certificate below it.
std::optional<CaViolation> check_ca_constraints(const std::vector<const Certificate*>& chain,
                                                const Certificate& anchor);

}  // namespace ssm::pki
