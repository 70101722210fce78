// Whether an issuer's key verifies a certificate's signature, apart from any chain logic: the
// tbsCertificate and signature read from the DER (pki/der_tlv.h, bounded), verified with
// gnutls_pubkey_verify_data2 and the parameters the key allows. Not gnutls_x509_crt_verify:
// that also reads the issuer's nameConstraints, and GnuTLS 3.7.9 leaks memory on every
// extension with a form it does not know (lib/x509/name_constraints.c
// _gnutls_extract_name_constraints), which an untrusted message's certificates can carry.
// SECURITY: the certificates are untrusted; what does not read does not verify.
#pragma once
#include "pki/certificate.h"

namespace ssm::pki {

// `allow_broken`: also accept algorithms GnuTLS holds broken (MD5, SHA-1 for certificates);
// path building may (the path is judged later), a decision about the path may not: GnuTLS's
// verify_crt refuses such a signature, and for a certificate that names itself as its issuer
// reports only GNUTLS_CERT_INVALID (pki/signer_constraints.h).
bool signature_verifies(const Certificate& subject, const Certificate& issuer, bool allow_broken = false);

}  // namespace ssm::pki
