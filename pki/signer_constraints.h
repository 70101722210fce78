// What GnuTLS's GNUTLS_CERT_SIGNER_CONSTRAINTS_FAILURE can mean, other than name constraints,
// for the flags TrustStore::check_path uses — and the same checks made on our own path, so that
// check_path may set that bit aside and let pki/name_constraints.h decide names.
//
// Read in GnuTLS 3.7.9 (lib/x509/verify.c verify_crt, called by _gnutls_verify_crt_status for
// each link; lib/x509/verify-high.c gnutls_x509_trust_list_verify_crt2 adds no such bit) with
// DISABLE_TIME_CHECKS, DISABLE_TRUSTED_TIME_CHECKS, IGNORE_UNKNOWN_CRIT_EXTENSIONS and
// DISABLE_CA_SIGN, the bit is set by:
//  1. name constraints: gnutls_x509_crt_get_name_constraints(APPEND) failing on an issuer's
//     extension (lib/x509/name_constraints.c refuses x400Address, ediPartyName, registeredID,
//     unknown otherNames), or gnutls_x509_name_constraints_check_crt refusing the end entity
//     (only it): dNSName, rfc822Name, iPAddress compared; any excluded directoryName subtree, and
//     any excluded URI subtree when the end entity has a URI, refused whatever the names
//     (check_unsupported_constraint, check_unsupported_constraint2). Ours: name_constraints.h.
//  2. TLS features (RFC 7633): each issuer's features accumulate down the path and every
//     certificate must list them (gnutls_x509_tlsfeatures_check_crt). Ours: tls_features_hold.
//  3. _gnutls_x509_verify_data answering GNUTLS_E_CONSTRAINT_ERROR: the signature algorithm does
//     not suit the issuer's key, or RSA-PSS parameters differ from the key's
//     (_gnutls_x509_validate_sign_params; lib/pubkey.c fixup_spki_params). The signature is then
//     not verified at all. Ours: signature_verifies (pki/certificate_signature.h).
//  4. vparams->max_path exhausted: MAX_VERIFY_DEPTH (4096) certificates; the trust list takes
//     at most DEFAULT_MAX_VERIFY_DEPTH (16) and path building far fewer. Not reachable.
//  5. issuer keyUsage without keyCertSign: only without DISABLE_CA_SIGN; pki/ca_constraints.h.
// Other failures in verify_crt that set only GNUTLS_CERT_INVALID (a signature or algorithm that
// does not read, a verification error) also fail signature_verifies (broken algorithms refused).
// A link whose bit is set ends _gnutls_verify_crt_status: the links below it are never checked
// by GnuTLS (algorithms, the CAs' key purposes). Name constraints are checked at the end
// entity's link only, so for them that loses nothing, unless GnuTLS cannot read the constraints
// of an issuer above the end entity's own (gnutls_x509_crt_get_name_constraints failing, say on
// an otherName form it does not know): check_path refuses such a path before GnuTLS sees it
// (gnutls_cannot_read_name_constraints).
// SECURITY: the certificates are untrusted; anything that does not read fails these checks.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "pki/certificate.h"

namespace ssm::pki {

// `path`: the end entity, the intermediates, then the trust anchor. Why GnuTLS 3.7.9 could not
// read the nameConstraints extension of a CA of `path` (the anchor's included), judged by our
// own reader (pki/general_names.h) before GnuTLS sees the path: an extension that does not read,
// or a subtree of a form _gnutls_extract_name_constraints refuses (x400Address, ediPartyName,
// registeredID, an otherName other than Microsoft's UPN, an iPAddress that is no address and
// contiguous mask). GnuTLS would stop at that CA's link and leave the certificates below it
// unchecked, and it leaks memory on every such extension it reads (hence not asked itself).
// nullopt when every CA's constraints are ones GnuTLS reads.
std::optional<std::string> gnutls_cannot_read_name_constraints(const std::vector<const Certificate*>& path);
// The same for one CA certificate (its subject named in the reason).
std::optional<std::string> gnutls_cannot_read_name_constraints_of(const Certificate& ca);

// `path`: the end entity, the intermediates, then the trust anchor. Why the TLS features
// (RFC 7633) of some issuer are missing below it; nullopt when they hold (as GnuTLS 3.7.9
// applies them: the anchor's count, every certificate below is checked).
std::optional<std::string> tls_features_hold(const std::vector<const Certificate*>& path);

}  // namespace ssm::pki
