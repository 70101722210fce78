// Which certificates a CRL speaks for completely, and for which reasons (RFC 5280 §5.2.5,
// §6.3.3 (b), (d)): a CRL is loaded for the revocations it lists in any case (listing revokes,
// whatever its scope), but only a CRL whose scope covers a certificate may settle that
// certificate's status as "not revoked" (hard-fail counts on it), and only for the reasons it is
// for. Covers nothing: a delta CRL (it lists changes since a base), a CRL with a critical
// extension we do not know (pki/crl_set.h also leaves out one with such an entry extension), one
// for attribute certificates only, one whose distribution point the certificate does not name. An indirect CRL covers the certificates of
// the issuers whose distribution points name its issuer as cRLIssuer; user-only and CA-only CRLs
// cover their kind only; a CRL for some reasons only covers those (several CRLs together may
// cover all reasons).
// SECURITY: CRL and certificate extensions are untrusted DER; what cannot be read covers nothing.
#pragma once
#include <gnutls/x509.h>

#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"

namespace ssm::pki {

class Certificate;

// ReasonFlags (RFC 5280 §4.2.1.13): bit n stands for reason n (0 unused, 1 keyCompromise, ...,
// 8 aACompromise). A status is settled when CRLs covering every one of these say "not listed".
constexpr unsigned kAllReasons = 0x1ff;

struct CrlScope {
    bool complete = true;     // false: speaks for no certificate completely (see above)
    std::string partial_why;  // for the log when !complete
    bool only_user = false;   // onlyContainsUserCerts
    bool only_ca = false;     // onlyContainsCACerts
    bool indirect = false;    // indirectCRL: entries may name another certificate issuer
    unsigned reasons = kAllReasons;  // onlySomeReasons (kAllReasons when absent)
    // The issuing distribution point's names: "uri:" and a URI, or "dn:" and a directoryName as
    // RFC 5280 §7.1 compares it (base/name_compare.h comparable_name; a name relative to the CRL
    // issuer is the issuer's RDNs followed by the relative one). names_point with no names: the
    // IDP names a point in forms we do not read (then it matches no certificate's point).
    bool names_point = false;
    std::vector<std::string> distribution_point_names;
    bool delta = false;               // deltaCRLIndicator: lists changes since a base CRL only
    std::optional<Bytes> delta_base;  // its BaseCRLNumber (see crl_number); nullopt: unreadable
    std::optional<Bytes> crl_number;  // cRLNumber: unsigned big-endian, no leading zero octets
    // freshestCRL (RFC 5280 §5.2.6): the fullName URIs where delta CRLs for this one are.
    std::vector<std::string> freshest_crl_uris;

    // Same issuing distribution point (a delta CRL applies only to a base of the same scope,
    // RFC 5280 §5.2.4).
    bool same_scope_as(const CrlScope& other) const;
};

// Reads the CRL's extensions. Never throws: what cannot be read makes the CRL not complete.
CrlScope crl_scope_of(gnutls_x509_crl_t crl);

// The ReasonFlags for which a CRL with `scope`, issued by `crl_issuer` (its raw Name DER), covers
// `cert` (RFC 5280 §6.3.3 (b), (d), one of the certificate's cRLDistributionPoints, or the
// point named by its issuer that every certificate has); 0: none.
unsigned crl_covered_reasons(const CrlScope& scope, ByteView crl_issuer, const Certificate& cert);

// The fullName URIs of a CRLDistributionPoints-syntax value (cRLDistributionPoints, freshestCRL),
// every point's, in order; what cannot be read gives none.
std::vector<std::string> distribution_point_uris(ByteView der);

// The URIs of a certificate's freshestCRL extension (RFC 5280 §4.2.1.15); none when absent.
std::vector<std::string> freshest_crl_uris(const Certificate& cert);

// Orders two CRL numbers (crl_number's form): <0, 0, >0.
int compare_crl_numbers(const Bytes& a, const Bytes& b);

}  // namespace ssm::pki
