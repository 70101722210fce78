// Whether one certificate names another as its issuer, as RFC 5280 §7.1 compares names: for the
// two certificate wrappers (pki::Certificate, hsm::X509Cert), which decide with it whether a
// certificate is self-signed and, in hsm/, which of the token's CA certificates goes into a
// signature's chain. No signature is checked (pki/certificate_signature.h does that).
#pragma once
#include <gnutls/x509.h>

namespace ssm {

// Whether `cert`'s issuer Name and `issuer`'s subject Name are the same Name (base/name_compare.h)
// written in other bytes: a link GnuTLS, which compares the bytes or (3.7.9) the RFC 4514 text,
// with its case and spacing, does not find. Never throws.
bool issuer_named_otherwise(gnutls_x509_crt_t cert, gnutls_x509_crt_t issuer) noexcept;

// gnutls_x509_crt_check_issuer (the issuer Name and `issuer`'s subject Name the same bytes or
// RFC 4514 text, and the authorityKeyIdentifier, when both carry key identifiers, `issuer`'s
// subjectKeyIdentifier), or the same with the Names equal as base/name_compare.h compares them
// (case, NFKC form, insignificant spaces), which GnuTLS does not find. Never throws.
bool names_as_issuer(gnutls_x509_crt_t cert, gnutls_x509_crt_t issuer) noexcept;

}  // namespace ssm
