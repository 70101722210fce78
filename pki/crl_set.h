// The CRLs of the trust store as it applies them beside GnuTLS's trust list (RFC 5280 §6.3.3).
// GnuTLS checks a certificate against the CRLs of its issuer's name and counts every entry as
// revoked; that is right for a plain CRL and wrong for the others, whose entries are applied here
// instead (entries_ours; such a CRL is not given to GnuTLS):
//   - an indirect CRL, or one with certificateIssuer entries: an entry is for the issuer that its
//     run of entries names, not for the CRL's issuer;
//   - a delta CRL: removeFromCRL releases a certificate held (certificateHold) on its base;
//   - every CRL of an issuer that has a delta CRL here: its held entries may have been released.
// Whether a status is settled ("not listed" counts) is decided here for every CRL: the current
// CRLs that cover the certificate must together cover all reasons.
// SECURITY: CRLs are untrusted beyond their signature; what cannot be read settles nothing and,
// where entries cannot be attributed, GnuTLS gets the CRL (it then revokes by its issuer's name).
#pragma once
#include <gnutls/x509.h>

#include <ctime>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "pki/crl_entries.h"
#include "pki/crl_scope.h"

namespace ssm::pki {

class Certificate;

struct LoadedCrl {
    Bytes issuer_der;         // raw issuer Name
    std::string issuer_key;   // the issuer Name as RFC 5280 §7.1 compares it (base/name_compare.h)
    std::time_t next_update = -1;  // -1 when the CRL has none
    CrlScope scope;           // which certificates it speaks for completely
    CrlEntries entries;       // all of them while loading; after choose_entry_owners only when entries_ours
    bool entries_readable = true;  // false: read_crl_entries failed (scope is then not complete)
    bool entries_ours = false;     // applied by crls_revoke, not by GnuTLS (see above)
    bool signer_revoked = false;   // its signing certificate is listed on a loaded CRL
    // The certificate whose key verified the CRL (an anchor or intermediate of the store, which
    // outlives the CRL); null for fetched CRLs, whose signer pki/revocation.cpp checks itself.
    const Certificate* signer = nullptr;

    // The CRL's handle in the trust store's GnuTLS trust list, which owns it, when GnuTLS
    // applies its entries (not entries_ours); null otherwise and for fetched CRLs.
    gnutls_x509_crl_t given_to_gnutls = nullptr;

    // Sets issuer_der and issuer_key.
    void set_issuer(ByteView der);
};

// Whether a CRL's signer may speak for it now (RFC 5280 §6.3.3 (f): its own path and status).
using CrlSignerCheck = std::function<bool(const LoadedCrl&)>;

// A certificate's issuer Name as the CRLs are compared with it, read once per certificate.
struct IssuerName {
    Bytes der;        // raw
    std::string key;  // comparable_name(der)
};

// nullopt: the issuer Name cannot be read.
std::optional<IssuerName> read_issuer_name(const Certificate& cert);

// Whether `cert`'s subject Name is `crl`'s issuer Name, as RFC 5280 §7.1 compares them
// (base/name_compare.h; GnuTLS's gnutls_x509_crl_check_issuer compares their bytes or RFC 4514
// text, case and spacing included).
bool crl_issuer_is(gnutls_x509_crl_t crl, const Certificate& cert);

// Whether `signer` (crl_issuer_is) signed `crl`. A CRL-signing certificate need not be a CA
// certificate (RFC 5280 §4.2.1.3: cRLSign is what counts). Times are not checked: an outdated
// CRL still revokes what it lists.
bool crl_signed_by(gnutls_x509_crl_t crl, const Certificate& signer);

// Whether `crl`, one GnuTLS applies (given_to_gnutls; false for the others), lists `cert`, or
// cannot tell (unreadable, or `issuer`, cert's issuer Name, unreadable: fails closed). GnuTLS
// applies a CRL only to certificates whose issuer Name is its issuer Name byte for byte
// (gnutls_x509_crt_check_revocation, as in path validation): `gnutls_applied` says it did so
// for this certificate already. A CRL whose issuer Name is the certificate's only as RFC 5280
// §7.1 compares them (PKITS 4.3.10, a CA's new UTF8String name on its CRL, its older
// certificates' PrintableString one) is read here, entry by entry, at each call: rare, and its
// entries are not kept (pki/trust_store.cpp gives the CRL to GnuTLS). Other CRLs cost two
// string comparisons.
bool plain_crl_lists(const LoadedCrl& crl, const Certificate& cert, const std::optional<IssuerName>& issuer,
                     bool gnutls_applied);

// Sets entries_ours for each CRL (see above) and drops the entries of the others.
void choose_entry_owners(std::vector<LoadedCrl>& crls);

// Why the entries of the entries_ours CRLs revoke `cert` at `now` (a held certificate that the
// newest current delta CRL of its base removes is not revoked); nullopt: they do not.
std::optional<std::string> crls_revoke(std::span<const LoadedCrl> crls, const Certificate& cert, std::time_t now);

// Whether CRLs current at `now`, of a signer not itself revoked and accepted by `signer_valid`
// (asked only for a CRL that would add reasons), cover `cert` for all reasons.
// `issuer` is read_issuer_name(cert) (nullopt: nothing settles it).
bool crls_settle(std::span<const LoadedCrl> crls, const Certificate& cert, const std::optional<IssuerName>& issuer,
                 std::time_t now, const CrlSignerCheck& signer_valid);

}  // namespace ssm::pki
