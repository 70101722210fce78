// Which certificates a CRL speaks for completely (RFC 5280 §5.2.5, §6.3.3): a CRL is loaded
// for the revocations it lists in any case (listing revokes, whatever its scope), but only a
// CRL whose scope covers a certificate may settle that certificate's status as "not revoked"
// (hard-fail counts on it). Not complete: a delta CRL (it lists changes since a base), a CRL
// with a critical extension we do not know, an issuing distribution point that is indirect,
// for some reasons only, for attribute certificates only, or for a distribution point the
// certificate does not name; user-only and CA-only CRLs cover their kind only.
#pragma once
#include <gnutls/x509.h>

#include <string>
#include <vector>

#include "base/bytes.h"

namespace ssm::pki {

class Certificate;

struct CrlScope {
    bool complete = true;     // false: speaks for no certificate completely (see above)
    std::string partial_why;  // for the log when !complete
    bool only_user = false;   // onlyContainsUserCerts
    bool only_ca = false;     // onlyContainsCACerts
    // The issuing distribution point's full names (a URI, or a directoryName as an RFC 4514
    // string, "uri:" or "dn:" in front); empty: the IDP names none (the CRL is for every
    // certificate of the issuer).
    std::vector<std::string> distribution_point_names;
};

// Reads the CRL's extensions. Never throws: what cannot be read makes the CRL not complete.
CrlScope crl_scope_of(gnutls_x509_crl_t crl);

// Whether `scope` covers `cert` (its kind, and one of its cRLDistributionPoints names when
// the IDP names distribution points).
bool crl_covers(const CrlScope& scope, const Certificate& cert);

}  // namespace ssm::pki
