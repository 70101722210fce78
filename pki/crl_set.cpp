// The trust store's CRLs beside GnuTLS (see crl_set.h): who applies each CRL's entries, the
// entries applied here (indirect CRLs), and settled status.
#include "pki/crl_set.h"

#include <gnutls/gnutls.h>

#include <algorithm>

#include "pki/certificate.h"

namespace ssm::pki {

namespace {

bool current(const LoadedCrl& c, std::time_t now)
{
    return c.next_update == static_cast<std::time_t>(-1) || c.next_update >= now;
}

}  // namespace

void choose_entry_owners(std::vector<LoadedCrl>& crls)
{
    for (LoadedCrl& c : crls) {
        c.entries_ours = c.entries_readable && (c.scope.indirect || c.entries.names_other_issuers);
    }
    for (LoadedCrl& c : crls) {
        if (c.entries_ours) continue;
        c.entries.entries = {};
        c.entries.issuers = {};
    }
}

std::optional<std::string> crls_revoke(std::span<const LoadedCrl> crls, const Certificate& cert, std::time_t)
{
    for (const LoadedCrl& c : crls) {
        if (!c.entries_ours) continue;
        const auto found = c.entries.find(cert);
        if (!found) return "its serial number or issuer name cannot be read";
        for (const CrlEntries::Entry* e : *found) {
            std::string what = c.scope.indirect ? "listed on an indirect CRL" : "listed on a CRL";
            if (e->reason == kReasonCertificateHold) what += " (certificateHold)";
            return what;
        }
    }
    return std::nullopt;
}

bool crls_settle(std::span<const LoadedCrl> crls, const Certificate& cert, std::time_t now)
{
    gnutls_datum_t dn{nullptr, 0};
    if (gnutls_x509_crt_get_raw_issuer_dn(cert.get(), &dn) < 0) return false;
    const Bytes issuer(dn.data, dn.data + dn.size);
    gnutls_free(dn.data);
    unsigned reasons = 0;
    for (const LoadedCrl& c : crls) {
        // Only its issuer's CRLs and indirect ones can cover it (crl_covered_reasons).
        if ((!c.scope.indirect && c.issuer_der != issuer) || c.signer_revoked || !current(c, now) ||
            !c.entries.unusable.empty())
            continue;
        reasons |= crl_covered_reasons(c.scope, c.issuer_der, cert);
        if ((reasons & kAllReasons) == kAllReasons) return true;
    }
    return false;
}

}  // namespace ssm::pki
