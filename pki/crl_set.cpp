// The trust store's CRLs beside GnuTLS (see crl_set.h): who applies each CRL's entries, the
// entries applied here (indirect CRLs, delta CRLs and their bases), and settled status.
#include "pki/crl_set.h"

#include <gnutls/gnutls.h>

#include <algorithm>

#include "base/gnutls_datum.h"
#include "base/name_compare.h"
#include "pki/certificate.h"
#include "pki/certificate_signature.h"

namespace ssm::pki {

namespace {

bool current(const LoadedCrl& c, std::time_t now)
{
    return c.next_update == static_cast<std::time_t>(-1) || c.next_update >= now;
}

// The newest current delta CRL that applies to `base` (RFC 5280 §5.2.4: same issuer and scope,
// its BaseCRLNumber not above the base's cRLNumber, itself newer than the base; §6.3.3 (h): signed
// by the base's signer, whose validity crls_settle asks about); null: none.
const LoadedCrl* newest_delta(std::span<const LoadedCrl> crls, const LoadedCrl& base, std::time_t now)
{
    if (base.scope.delta || !base.scope.crl_number) return nullptr;
    const Bytes& number = *base.scope.crl_number;
    const LoadedCrl* newest = nullptr;
    for (const LoadedCrl& d : crls) {
        if (!d.scope.delta || !d.scope.complete || !d.scope.delta_base || !d.scope.crl_number || !d.entries_ours ||
            d.signer_revoked || d.signer != base.signer || !d.entries.unusable.empty() || !current(d, now) ||
            d.issuer_key != base.issuer_key ||
            !d.scope.same_scope_as(base.scope) || compare_crl_numbers(*d.scope.delta_base, number) > 0 ||
            compare_crl_numbers(*d.scope.crl_number, number) <= 0)
            continue;
        if (!newest || compare_crl_numbers(*d.scope.crl_number, *newest->scope.crl_number) > 0) newest = &d;
    }
    return newest;
}

// Whether the newest delta of `base` removes `cert` from it.
bool released(std::span<const LoadedCrl> crls, const LoadedCrl& base, const Certificate& cert, std::time_t now)
{
    const LoadedCrl* delta = newest_delta(crls, base, now);
    if (!delta) return false;
    const auto found = delta->entries.find(cert);
    return found && std::any_of(found->begin(), found->end(),
                                [](const CrlEntries::Entry* e) { return e->reason == kReasonRemoveFromCrl; });
}

}  // namespace

void LoadedCrl::set_issuer(ByteView der)
{
    issuer_der.assign(der.begin(), der.end());
    issuer_key = comparable_name(der);
}

std::optional<IssuerName> read_issuer_name(const Certificate& cert)
{
    GnutlsDatum dn;
    if (gnutls_x509_crt_get_raw_issuer_dn(cert.get(), &dn.d) < 0) return std::nullopt;
    const ByteView der = dn.view();
    return IssuerName{Bytes(der.begin(), der.end()), comparable_name(der)};
}

namespace {

// Whether `crl`'s issuer Name and `cert`'s subject Name are the same by RFC 5280 §7.1, for a
// pair gnutls_x509_crl_check_issuer has already said no to.
bool crl_issuer_named_otherwise(gnutls_x509_crl_t crl, const Certificate& cert)
{
    GnutlsDatum crl_issuer, subject;
    return gnutls_x509_crl_get_raw_issuer_dn(crl, &crl_issuer.d) >= 0 &&
           gnutls_x509_crt_get_raw_dn(cert.get(), &subject.d) >= 0 &&
           same_name(crl_issuer.view(), subject.view());
}

}  // namespace

bool crl_issuer_is(gnutls_x509_crl_t crl, const Certificate& cert)
{
    return gnutls_x509_crl_check_issuer(crl, cert.get()) || crl_issuer_named_otherwise(crl, cert);
}

bool crl_signed_by(gnutls_x509_crl_t crl, const Certificate& signer)
{
    gnutls_x509_crt_t ca = signer.get();
    unsigned usage = 0;
    const int ku = gnutls_x509_crt_get_key_usage(ca, &usage, nullptr);
    const bool crl_signer = ku >= 0 && (usage & GNUTLS_KEY_CRL_SIGN);
    if (!gnutls_x509_crl_check_issuer(crl, ca)) {
        // GnuTLS finds a CRL's signer by its name byte for byte or as RFC 4514 text (string
        // types aside, checked with 3.7.9); RFC 5280 §7.1 compares names after string
        // preparation (a CA's name on its CRL in another case or spacing than on its
        // certificate). Such a signer is held to what gnutls_x509_crl_verify asks of one
        // (verify.c): cRLSign in its keyUsage, or without keyUsage a CA; then its key must verify
        // the CRL's signature.
        if (!crl_issuer_named_otherwise(crl, signer)) return false;
        unsigned is_ca = 0;
        const bool may_sign = crl_signer || (ku == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE &&
                                             gnutls_x509_crt_get_basic_constraints(ca, nullptr, &is_ca, nullptr) >= 0 &&
                                             is_ca);
        return may_sign && crl_signature_verifies(crl, signer);
    }
    const unsigned time_bits = GNUTLS_CERT_EXPIRED | GNUTLS_CERT_NOT_ACTIVATED |
                               GNUTLS_CERT_REVOCATION_DATA_SUPERSEDED | GNUTLS_CERT_REVOCATION_DATA_ISSUED_IN_FUTURE;
    const unsigned flags = GNUTLS_VERIFY_DISABLE_TIME_CHECKS | (crl_signer ? GNUTLS_VERIFY_DISABLE_CA_SIGN : 0);
    unsigned status = 0;
    const int rc = gnutls_x509_crl_verify(crl, &ca, 1, flags, &status);
    if (rc < 0) return false;
    const bool by_gnutls =
        (status & ~(time_bits | GNUTLS_CERT_INVALID)) == 0 && (!(status & GNUTLS_CERT_INVALID) || (status & time_bits));
    // With an id-RSASSA-PSS signer key our check decides whatever GnuTLS says, as check_link does
    // for certificates: GnuTLS 3.7.9 takes a CRL signed with MGF1 over another hash than the
    // key's parameters allow (RFC 4055 §3.3; certificate_signature.h rsassa_pss_key).
    if (by_gnutls && !rsassa_pss_key(signer)) return true;
    // GnuTLS 3.7.9 verifies an RSASSA-PSS signature only with MGF1 over the signature's hash and
    // a salt as long as it; a CA may sign its CRLs with others, as it may its certificates
    // (OpenSSL -sigopt rsa_mgf1_md:sha1): a refused signature, and nothing else wrong apart from
    // times, is checked once more as signed_by checks certificates (certificate_signature.h). So
    // is GNUTLS_CERT_INVALID alone: a signer key GnuTLS does not import (an id-RSASSA-PSS key
    // with MGF1 over another hash) fails before any verification (verify.c MARK_INVALID(0)).
    if (!by_gnutls && (!(status & (GNUTLS_CERT_SIGNATURE_FAILURE | GNUTLS_CERT_INVALID)) ||
                       (status & ~(time_bits | GNUTLS_CERT_INVALID | GNUTLS_CERT_SIGNATURE_FAILURE)) != 0))
        return false;
    GnutlsDatum der;
    return gnutls_x509_crl_export2(crl, GNUTLS_X509_FMT_DER, &der.d) >= 0 &&
           crl_pss_signature_verifies(der.view(), signer);
}

bool plain_crl_lists(const LoadedCrl& crl, const Certificate& cert, const std::optional<IssuerName>& issuer,
                     bool gnutls_applied)
{
    if (!crl.given_to_gnutls) return false;
    if (!issuer) return true;
    if (crl.issuer_der == issuer->der)  // GnuTLS's own case; < 0 (cannot tell) fails closed
        return !gnutls_applied && gnutls_x509_crt_check_revocation(cert.get(), &crl.given_to_gnutls, 1) != 0;
    if (crl.issuer_key != issuer->key) return false;
    const auto entries = read_crl_entries(crl.given_to_gnutls);
    if (!entries) return true;
    const auto found = entries->find(cert);
    return !found || !found->empty();
}

void choose_entry_owners(std::vector<LoadedCrl>& crls)
{
    for (LoadedCrl& c : crls) {
        c.entries_ours = c.entries_readable && (c.scope.indirect || c.scope.delta || c.entries.names_other_issuers);
    }
    for (LoadedCrl& c : crls) {
        const bool has_delta = std::any_of(crls.begin(), crls.end(), [&](const LoadedCrl& d) {
            return d.scope.delta && d.issuer_key == c.issuer_key;
        });
        if (has_delta && c.entries_readable) c.entries_ours = true;
    }
    for (LoadedCrl& c : crls) {
        if (c.entries_ours) continue;
        c.entries.entries = {};
        c.entries.issuers = {};
    }
}

std::optional<std::string> crls_revoke(std::span<const LoadedCrl> crls, const Certificate& cert, std::time_t now)
{
    for (const LoadedCrl& c : crls) {
        if (!c.entries_ours) continue;
        const auto found = c.entries.find(cert);
        if (!found) return "its serial number or issuer name cannot be read";
        for (const CrlEntries::Entry* e : *found) {
            // removeFromCRL on a delta: no longer listed; on a complete CRL it means nothing
            // and counts as listed.
            if (c.scope.delta && e->reason == kReasonRemoveFromCrl) continue;
            if (!c.scope.delta && e->reason == kReasonCertificateHold && released(crls, c, cert, now)) continue;
            std::string what = c.scope.delta      ? "listed on a delta CRL"
                               : c.scope.indirect ? "listed on an indirect CRL"
                                                  : "listed on a CRL";
            if (e->reason == kReasonCertificateHold) what += " (certificateHold)";
            return what;
        }
    }
    return std::nullopt;
}

bool crls_settle(std::span<const LoadedCrl> crls, const Certificate& cert, const std::optional<IssuerName>& issuer,
                 std::time_t now, const CrlSignerCheck& signer_valid)
{
    if (!issuer) return false;
    unsigned reasons = 0;
    for (const LoadedCrl& c : crls) {
        // Only its issuer's CRLs and indirect ones can cover it (crl_covered_reasons).
        if ((!c.scope.indirect && c.issuer_key != issuer->key) || c.signer_revoked || !current(c, now) ||
            !c.entries.unusable.empty())
            continue;
        const unsigned covered = crl_covered_reasons(c.scope, c.issuer_der, cert);
        // The signer's own validation may cost a path search and network: only when it counts.
        if ((covered & ~reasons) == 0 || !signer_valid(c)) continue;
        reasons |= covered;
        if ((reasons & kAllReasons) == kAllReasons) return true;
    }
    return false;
}

}  // namespace ssm::pki
