// Certificate signatures verified by an issuer's key (see certificate_signature.h). The certificates
// are untrusted: the DER read here (base/der_tlv.h) is bounded, and what does not read does not verify.
#include "pki/certificate_signature.h"

#include <nettle/bignum.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>

#include "base/certificate_issuer.h"
#include "base/certificate_key.h"
#include "base/der_tlv.h"
#include "base/gnutls_datum.h"
#include "base/gnutls_handles.h"
#include "base/mpz.h"
#include "base/rsa_pss.h"
#include "base/rsa_pss_params.h"
#include "pki/signer_constraints.h"

namespace ssm::pki {

namespace {

struct PubkeyDeleter {
    void operator()(gnutls_pubkey_st* k) const noexcept { gnutls_pubkey_deinit(k); }
};
// Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }
// (CertificateList, a CRL, is the same with a tbsCertList): the tbs part's whole TLV, the
// signatureAlgorithm, and the signature's octets.
struct SignedParts {
    gnutls_datum_t tbs{nullptr, 0};
    gnutls_datum_t signature{nullptr, 0};
    Tlv algorithm;
    // Whether the tbs part's signature field is the signatureAlgorithm byte for byte
    // (RFC 5280 §4.1.1.2, §5.1.1.2: they MUST be the same).
    bool same_algorithm_inside = false;
};

// BasicOCSPResponse (RFC 6960 §4.2.1) is the same again with a tbsResponseData, no signature
// field inside it, and the responder's certificates ([0] EXPLICIT, optional) after the signature.
enum class Signed { Certificate, Crl, OcspResponse };

// The signature field inside a TBSCertificate (after its [0] version) or a TBSCertList (after
// its optional version INTEGER, RFC 5280 §5.1).
std::optional<Tlv> inner_signature_field(const Tlv& tbs, Signed what)
{
    if (what == Signed::Certificate) return tbs_field(tbs, TbsField::Signature);
    const auto first = read_tlv(tbs.value, tbs.length);
    if (!first || first->tag != 0x02) return first;
    return read_tlv(tbs.value + first->total, tbs.length - first->total);
}

std::optional<SignedParts> signed_parts(ByteView der, Signed what)
{
    const auto cert = read_tlv(der.data(), der.size());
    if (!cert || cert->tag != 0x30 || cert->total != der.size()) return std::nullopt;
    const auto tbs = read_tlv(cert->value, cert->length);
    if (!tbs || tbs->tag != 0x30) return std::nullopt;
    const auto alg = read_tlv(cert->value + tbs->total, cert->length - tbs->total);
    if (!alg || alg->tag != 0x30) return std::nullopt;
    const std::size_t used = tbs->total + alg->total;
    const auto sig = read_tlv(cert->value + used, cert->length - used);
    if (!sig || sig->tag != 0x03 || sig->length < 2 || sig->value[0] != 0) return std::nullopt;
    if (used + sig->total != cert->length) {
        if (what != Signed::OcspResponse) return std::nullopt;
        const std::size_t signed_end = used + sig->total;
        const auto certs = read_tlv(cert->value + signed_end, cert->length - signed_end);
        if (!certs || certs->tag != 0xa0 || signed_end + certs->total != cert->length) return std::nullopt;
    }
    SignedParts p;
    p.tbs = {const_cast<unsigned char*>(cert->value), static_cast<unsigned>(tbs->total)};
    p.signature = {const_cast<unsigned char*>(sig->value + 1), static_cast<unsigned>(sig->length - 1)};
    p.algorithm = *alg;
    if (what == Signed::OcspResponse) {
        p.same_algorithm_inside = true;  // none inside to differ
        return p;
    }
    const auto inside = inner_signature_field(*tbs, what);
    p.same_algorithm_inside = inside && inside->total == alg->total &&
                              std::equal(inside->begin(), inside->begin() + inside->total, alg->begin());
    return p;
}

// The parameters of the AlgorithmIdentifier `alg` when it is id-RSASSA-PSS with parameters
// (base/rsa_pss_params.h reads them), nothing after them; else nullopt (GnuTLS's answer stands).
std::optional<RsaPssParams> pss_signature_of(const Tlv& alg)
{
    const auto oid = read_tlv(alg.value, alg.length);
    if (!oid || oid->tag != 0x06 || oid_text(*oid) != std::optional<std::string>(kOidRsassaPss)) return std::nullopt;
    const auto params = read_tlv(alg.value + oid->total, alg.length - oid->total);
    if (!params || oid->total + params->total != alg.length) return std::nullopt;
    RsaPssRefusal why;  // any refusal: not a signature checked here
    return read_rsa_pss_params(ByteView(params->begin(), params->total), why);
}

// Our own check of a certificate signature GnuTLS refused, for the RSASSA-PSS signatures GnuTLS
// 3.7.9 does not verify although RFC 4055 allows them and OpenSSL makes and accepts them: MGF1
// over another hash than the signature's (-sigopt rsa_mgf1_md), a salt other than the hash's
// length (OpenSSL's default, the maximum). Only with a SHA-2 signature hash (SHA-1 stays refused
// for certificates, as GnuTLS refuses it) and a signatureAlgorithm that is the tbsCertificate's
// signature field. The issuer's key is read from its certificate (base/certificate_key.h), not
// from GnuTLS, which does not import an id-RSASSA-PSS key whose parameters name MGF1 over
// another hash than theirs: a plain RSA key, or an id-RSASSA-PSS key, whose parameters (when it
// has any) the signature must keep to (RFC 4055 §3.3, base/rsa_pss_params.h).
bool pss_signature_verifies(const SignedParts& parts, const Certificate& issuer)
{
    const auto pss = pss_signature_of(parts.algorithm);
    if (!pss || pss->hash == GNUTLS_DIG_SHA1 || !parts.same_algorithm_inside) return false;
    const Bytes der = issuer.der();
    const auto key = certificate_key(der);
    if (!key || key->rsa_modulus.empty()) return false;  // no RSA key, or one that does not read
    if (key->algorithm == kOidRsassaPss && !key->parameters.empty()) {
        RsaPssRefusal why;
        const auto allowed = read_rsa_pss_params(key->parameters, why);
        if (!allowed || !outside_pss_key_parameters(*allowed, *pss).empty()) return false;
    }
    RsaPublicKey pub;
    nettle_mpz_set_str_256_u(pub.k.n, key->rsa_modulus.size(), key->rsa_modulus.data());
    nettle_mpz_set_str_256_u(pub.k.e, key->rsa_exponent.size(), key->rsa_exponent.data());
    // A signature longer than the modulus cannot be valid (and mpz would take any size).
    if (!rsa_public_key_prepare(&pub.k) || parts.signature.size > pub.k.size) return false;
    Mpz s;
    nettle_mpz_set_str_256_u(s.v, parts.signature.size, parts.signature.data);
    Bytes digest(gnutls_hash_get_len(pss->hash));
    if (gnutls_hash_fast(pss->hash, parts.tbs.data, parts.tbs.size, digest.data()) < 0) return false;
    return rsa_pss_verify_with_mask_hash(pub.k, s.v, pss->hash, pss->mask, pss->salt, digest);
}

}  // namespace

bool rsassa_pss_key(const Certificate& signer)
{
    const Bytes der = signer.der();
    const auto key = certificate_key(der);
    return key && key->algorithm == kOidRsassaPss;
}

namespace {

// `parts` (signed with the algorithm GnuTLS reads as `algo`, <= 0 when it names none) verified
// with `issuer`'s key, as signature_verifies describes.
bool parts_verify(const SignedParts& parts, int algo, const Certificate& issuer)
{
    // With an id-RSASSA-PSS issuer key our check decides, as in check_link:
    // gnutls_pubkey_verify_data2 verifies RSASSA-PSS with MGF1 over the signature's hash and
    // takes such a signature when the key allows MGF1 over another hash only.
    if (rsassa_pss_key(issuer)) return pss_signature_verifies(parts, issuer);
    // A plain RSA key's signature with an algorithm GnuTLS does not name (RSASSA-PSS with MGF1
    // over another hash) or a salt other than the hash's length may still verify through
    // pss_signature_verifies.
    gnutls_pubkey_t raw = nullptr;
    if (gnutls_pubkey_init(&raw) < 0) return false;
    const std::unique_ptr<gnutls_pubkey_st, PubkeyDeleter> key(raw);
    return (algo > 0 && gnutls_pubkey_import_x509(key.get(), issuer.get(), 0) >= 0 &&
            gnutls_pubkey_verify_data2(key.get(), static_cast<gnutls_sign_algorithm_t>(algo), 0, &parts.tbs,
                                       &parts.signature) >= 0) ||
           pss_signature_verifies(parts, issuer);
}

}  // namespace

bool signature_verifies(const Certificate& subject, const Certificate& issuer)
{
    const Bytes der = subject.der();
    const auto parts = signed_parts(der, Signed::Certificate);
    return parts && parts_verify(*parts, gnutls_x509_crt_get_signature_algorithm(subject.get()), issuer);
}

bool crl_signature_verifies(gnutls_x509_crl_t crl, const Certificate& issuer)
{
    GnutlsDatum der;
    if (gnutls_x509_crl_export2(crl, GNUTLS_X509_FMT_DER, &der.d) < 0) return false;
    const auto parts = signed_parts(der.view(), Signed::Crl);
    return parts && parts_verify(*parts, gnutls_x509_crl_get_signature_algorithm(crl), issuer);
}

namespace {

enum class LinkCheck { Refused, ByGnutls, BeyondGnutls };

LinkCheck check_link(const Certificate& subject, const Certificate& issuer)
{
    if (gnutls_cannot_read_name_constraints_of(issuer)) return LinkCheck::Refused;
    gnutls_x509_crt_t ca = issuer.get();
    unsigned status = 0;
    const int rc = gnutls_x509_crt_verify(subject.get(), &ca, 1,
                                          GNUTLS_VERIFY_DISABLE_TIME_CHECKS | GNUTLS_VERIFY_DISABLE_TRUSTED_TIME_CHECKS |
                                              GNUTLS_VERIFY_DISABLE_CA_SIGN | GNUTLS_VERIFY_ALLOW_BROKEN |
                                              GNUTLS_VERIFY_IGNORE_UNKNOWN_CRIT_EXTENSIONS,
                                          &status);
    if (rc < 0) return LinkCheck::Refused;
    // GnuTLS compares the names byte for byte or as their RFC 4514 text: a link whose names are
    // equal only as RFC 5280 §7.1 compares them (case or spacing; PKITS 4.3.3-5, 4.3.11) is not
    // found. Its signature is verified here, and check_path has GnuTLS verify the path in
    // parts cut at such a link, as at the RSASSA-PSS links below.
    if (status & GNUTLS_CERT_SIGNER_NOT_FOUND) {
        const bool ours = issuer_named_otherwise(subject.get(), issuer.get()) && signature_verifies(subject, issuer);
        return ours ? LinkCheck::BeyondGnutls : LinkCheck::Refused;
    }
    // GnuTLS did not verify the signature when it says so, and also when it marks the link
    // invalid for no reason it names (verify.c MARK_INVALID(0): an error before the
    // verification, such as an issuer key it does not import). Its signer-constraints bit
    // alone is not about the signature here (name constraints, TLS features: pki/ judges them).
    const bool gnutls_refused = (status & GNUTLS_CERT_SIGNATURE_FAILURE) ||
                                ((status & GNUTLS_CERT_INVALID) && !(status & GNUTLS_CERT_SIGNER_CONSTRAINTS_FAILURE));
    // With an id-RSASSA-PSS issuer key our check decides whatever GnuTLS says: GnuTLS 3.7.9
    // accepts here signatures outside the key's parameters (a shorter salt, another hash: only
    // signer constraints, which are set aside above) and refuses ones within them.
    if (!gnutls_refused && !rsassa_pss_key(issuer)) return LinkCheck::ByGnutls;
    const Bytes der = subject.der();
    const auto parts = signed_parts(der, Signed::Certificate);
    if (!parts || !pss_signature_verifies(*parts, issuer)) return LinkCheck::Refused;
    return gnutls_refused ? LinkCheck::BeyondGnutls : LinkCheck::ByGnutls;
}

}  // namespace

bool signed_by(const Certificate& subject, const Certificate& issuer)
{
    return check_link(subject, issuer) != LinkCheck::Refused;
}

bool signed_beyond_gnutls(const Certificate& subject, const Certificate& issuer)
{
    return check_link(subject, issuer) == LinkCheck::BeyondGnutls;
}

bool crl_pss_signature_verifies(ByteView crl_der, const Certificate& issuer)
{
    const auto parts = signed_parts(crl_der, Signed::Crl);
    return parts && pss_signature_verifies(*parts, issuer);
}

bool ocsp_pss_signature_verifies(ByteView basic_response_der, const Certificate& signer)
{
    const auto parts = signed_parts(basic_response_der, Signed::OcspResponse);
    return parts && pss_signature_verifies(*parts, signer);
}

}  // namespace ssm::pki
