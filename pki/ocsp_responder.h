// The signer of an OCSP response when it is a delegated responder (RFC 6960 §4.2.2.2): which
// certificate of the response it is, and whether it may speak for the CA now.
// SECURITY: the response and its certificates are untrusted; this is asked only after
// gnutls_ocsp_resp_verify_direct accepted the signature, and only narrows what it accepted.
#pragma once
#include <gnutls/ocsp.h>

#include <ctime>
#include <optional>
#include <string>

#include "pki/certificate.h"

namespace ssm::pki {

// id-pkix-ocsp-nocheck (RFC 6960 §4.2.2.2.1): the CA vouches that the responder certificate's
// revocation need not be checked (it is short-lived instead).
inline constexpr const char* kOidOcspNoCheck = "1.3.6.1.5.5.7.48.1.5";

// The certificate of the response that its responderID names, as GnuTLS 3.7.9 picks it
// (lib/x509/ocsp.c find_signercert: by name, or by key as subjectKeyIdentifier or SHA-1 key
// hash), except that names compare as RFC 5280 §7.1 says (GnuTLS: byte for byte, so that it
// takes the CA for the signer of an answer whose responderID spells the responder's name
// otherwise than its certificate; pki/ocsp_client.cpp then verifies with this one); nullopt
// when there is none or it is `issuer` itself (the CA signed the response).
std::optional<Certificate> delegated_responder(gnutls_ocsp_resp_t resp, const Certificate& issuer);

// Why `responder` may not sign OCSP responses for `issuer`'s certificates at `now`: not valid
// then, no id-kp-OCSPSigning, not issued (name and signature) by `issuer`. nullopt: it may.
std::optional<std::string> responder_problem(const Certificate& responder, const Certificate& issuer,
                                             std::time_t now);

}  // namespace ssm::pki
