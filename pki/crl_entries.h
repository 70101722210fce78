// The revoked certificates a CRL lists, read from its DER with their entry extensions (RFC 5280
// §5.3): the reason code (certificateHold and removeFromCRL matter to delta CRLs) and, on an
// indirect CRL, the certificate issuer each entry is for. GnuTLS 3.7 gives neither.
// SECURITY: the CRL is untrusted DER (its signature was checked, but its issuer may be any CA
// of the store); reading is bounded by its size, entries are kept sorted for O(log n) lookups,
// and what cannot be read is reported so that the caller fails closed.
#pragma once
#include <gnutls/x509.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"

namespace ssm::pki {

class Certificate;

constexpr int kReasonNone = -1;             // no reasonCode extension
constexpr int kReasonCertificateHold = 6;   // CRLReason certificateHold
constexpr int kReasonRemoveFromCrl = 8;     // CRLReason removeFromCRL (delta CRLs only)

struct CrlEntries {
    // The certificate issuers entries are for: [0] is the CRL's issuer; on an indirect CRL each
    // certificateIssuer extension starts a run of entries for the issuer it names (§5.3.3).
    struct Issuer {
        Bytes der;         // the Name's DER
        std::string text;  // RFC 4514, lower-cased (empty when GnuTLS cannot write it)
    };
    struct Entry {
        Bytes serial;        // INTEGER contents, leading zero octets removed
        int reason = kReasonNone;
        std::uint32_t issuer = 0;  // index into issuers
    };
    std::vector<Issuer> issuers;
    std::vector<Entry> entries;  // sorted by serial
    bool names_other_issuers = false;  // some entry has a certificateIssuer extension
    // Why the CRL cannot say "not listed" (an unknown critical entry extension); empty: it can.
    std::string unusable;

    // The entries that are for `cert` (its serial, and an issuer name equal to its issuer's, as
    // RFC 5280 §7.1 compares Names or as case-insensitive text: more matches only revoke more).
    // nullopt: the certificate's serial or issuer cannot be read (the caller counts it as listed).
    std::optional<std::vector<const Entry*>> find(const Certificate& cert) const;
};

// Reads every entry of `crl`. nullopt: its DER is not what RFC 5280 §5.1 describes, or a
// certificateIssuer names no directoryName (the entries from there on are for nobody we know).
std::optional<CrlEntries> read_crl_entries(gnutls_x509_crl_t crl);

}  // namespace ssm::pki
