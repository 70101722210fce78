// Whether an issuer's key verifies a certificate's signature, apart from any chain logic.
// SECURITY: the certificates are untrusted; what does not read does not verify.
#pragma once
#include "pki/certificate.h"

namespace ssm::pki {

// As GnuTLS verifies one link (gnutls_x509_crt_verify with `issuer` alone): the signature, the
// issuer's name, broken algorithms allowed (the path is judged later). For path building and
// check_path's check of each link. GnuTLS 3.7.9 verifies an RSA-PSS certificate signature only
// with a salt as long as the hash and MGF1 over the signature's hash (certtool too); OpenSSL
// makes and accepts others (its default "max" salt, -sigopt rsa_mgf1_md), so a signature GnuTLS
// refuses is checked once more here with base/rsa_pss.h when it is RSASSA-PSS over SHA-2 by an
// issuer key that is plain RSA or id-RSASSA-PSS, read from the issuer's certificate (GnuTLS does
// not import an id-RSASSA-PSS key with MGF1 over another hash; certificate_signature.cpp,
// pss_signature_verifies). With an id-RSASSA-PSS issuer key that check decides whatever GnuTLS
// says: the signature must keep to the key's parameters (RFC 4055 §3.3, base/rsa_pss_params.h),
// which GnuTLS 3.7.9 enforces here only through its signer-constraints bit, set aside for names.
// Path validation: gnutls_x509_trust_list_verify_crt2 reports such a signature as
// GNUTLS_CERT_SIGNATURE_FAILURE and checks nothing below that link; check_path
// (trust_store_validate.cpp, gnutls_status_through_cuts) then has GnuTLS verify the path in parts
// cut at each link signed_beyond_gnutls names.
// Names: GnuTLS 3.7.9 compares an issuer Name and the issuer's subject Name byte for byte, then
// as its RFC 4514 text (so the string type aside, but case and spacing count); RFC 5280 §7.1
// compares them after string preparation (another string type, case, spacing, NFKC:
// base/name_compare.h). A link GnuTLS does not find for its names alone, whose names are the
// same Name, is verified with signature_verifies (which refuses broken algorithms) and is a
// link beyond GnuTLS too: check_path cuts the path there as well.
// An issuer whose nameConstraints GnuTLS 3.7.9 cannot read does not sign here, without asking
// GnuTLS: gnutls_x509_crt_verify reads them and leaks memory on every such extension
// (lib/x509/name_constraints.c _gnutls_extract_name_constraints), which an untrusted message's
// certificates can carry; check_path refuses a path through such a CA anyway.
bool signed_by(const Certificate& subject, const Certificate& issuer);

// signed_by, and only through the RSASSA-PSS check or the names above: GnuTLS alone refuses this link.
bool signed_beyond_gnutls(const Certificate& subject, const Certificate& issuer);

// The tbsCertificate and signature read from the DER (base/der_tlv.h, bounded) and verified with
// gnutls_pubkey_verify_data2 and the parameters the issuer's key allows, and where GnuTLS refuses,
// with the RSASSA-PSS check above (as for signed_by); broken algorithms (MD5, SHA-1 for
// certificates) fail too, as in GnuTLS's verify_crt under check_path's flags, which
// for a certificate that names itself as its issuer reports them only as GNUTLS_CERT_INVALID
// (pki/signer_constraints.h). For check_path when it sets GnuTLS's signer-constraints bit aside.
bool signature_verifies(const Certificate& subject, const Certificate& issuer);

// signature_verifies for a CRL: its signature verified by `issuer`'s key, nothing else (not the
// names, not the key's use). For pki/crl_set.cpp crl_signed_by, for a CRL whose issuer Name is
// its signer's subject Name only as RFC 5280 §7.1 compares them, which GnuTLS does not find.
bool crl_signature_verifies(gnutls_x509_crl_t crl, const Certificate& issuer);

// The RSASSA-PSS check above for a CRL (the DER CertificateList `crl_der`) whose signature
// gnutls_x509_crl_verify refused: the same parameters GnuTLS 3.7.9 does not verify (MGF1 over
// another hash, another salt length), a SHA-2 hash, a plain RSA or id-RSASSA-PSS key of `issuer`
// (within its parameters), and the tbsCertList's signature field equal to the signatureAlgorithm. For pki/crl_set.cpp
// crl_signed_by, which checks the issuer's name and its use for CRLs.
bool crl_pss_signature_verifies(ByteView crl_der, const Certificate& issuer);

// The same for an OCSP response: `basic_response_der` a BasicOCSPResponse whose signature
// gnutls_ocsp_resp_verify_direct refused, or made by an id-RSASSA-PSS key (below), `signer` the
// key that must have made it (the issuer, or a delegated responder the caller has found issued
// by it). For pki/ocsp_client.cpp.
bool ocsp_pss_signature_verifies(ByteView basic_response_der, const Certificate& signer);

// Whether `signer`'s key is id-RSASSA-PSS, read from its certificate (GnuTLS may not import it).
// A signature by such a key is judged by the RSASSA-PSS check above whatever GnuTLS says: GnuTLS
// 3.7.9 does not hold it to the key's parameters (RFC 4055 §3.3), for certificates (signed_by)
// and for OCSP responses, which it verifies with MGF1 over the signature's hash and the key's
// salt length whatever the key or the signatureAlgorithm say.
bool rsassa_pss_key(const Certificate& signer);

}  // namespace ssm::pki
