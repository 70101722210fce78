// Certificate signatures verified by an issuer's key (see certificate_signature.h).
#include "pki/certificate_signature.h"

#include <memory>
#include <optional>

#include <gnutls/abstract.h>
#include <gnutls/x509.h>

#include "pki/der_tlv.h"
#include "pki/signer_constraints.h"

namespace ssm::pki {

namespace {

struct PubkeyDeleter {
    void operator()(gnutls_pubkey_st* k) const noexcept { gnutls_pubkey_deinit(k); }
};
// Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }:
// the tbsCertificate's whole TLV and the signature's octets.
struct SignedParts {
    gnutls_datum_t tbs{nullptr, 0};
    gnutls_datum_t signature{nullptr, 0};
};

std::optional<SignedParts> signed_parts(const Bytes& der)
{
    const auto cert = read_tlv(der.data(), der.size());
    if (!cert || cert->tag != 0x30 || cert->total != der.size()) return std::nullopt;
    const auto tbs = read_tlv(cert->value, cert->length);
    if (!tbs || tbs->tag != 0x30) return std::nullopt;
    const auto alg = read_tlv(cert->value + tbs->total, cert->length - tbs->total);
    if (!alg || alg->tag != 0x30) return std::nullopt;
    const std::size_t used = tbs->total + alg->total;
    const auto sig = read_tlv(cert->value + used, cert->length - used);
    if (!sig || sig->tag != 0x03 || used + sig->total != cert->length || sig->length < 2 || sig->value[0] != 0)
        return std::nullopt;
    SignedParts p;
    p.tbs = {const_cast<unsigned char*>(cert->value), static_cast<unsigned>(tbs->total)};
    p.signature = {const_cast<unsigned char*>(sig->value + 1), static_cast<unsigned>(sig->length - 1)};
    return p;
}

}  // namespace

bool signature_verifies(const Certificate& subject, const Certificate& issuer)
{
    const Bytes der = subject.der();
    const auto parts = signed_parts(der);
    const int algo = gnutls_x509_crt_get_signature_algorithm(subject.get());
    if (!parts || algo <= 0) return false;
    gnutls_pubkey_t raw = nullptr;
    if (gnutls_pubkey_init(&raw) < 0) return false;
    const std::unique_ptr<gnutls_pubkey_st, PubkeyDeleter> key(raw);
    if (gnutls_pubkey_import_x509(key.get(), issuer.get(), 0) < 0) return false;
    return gnutls_pubkey_verify_data2(key.get(), static_cast<gnutls_sign_algorithm_t>(algo),
                                      0, &parts->tbs, &parts->signature) >= 0;
}

bool signed_by(const Certificate& subject, const Certificate& issuer)
{
    if (gnutls_cannot_read_name_constraints_of(issuer)) return false;
    gnutls_x509_crt_t ca = issuer.get();
    unsigned status = 0;
    const int rc = gnutls_x509_crt_verify(subject.get(), &ca, 1,
                                          GNUTLS_VERIFY_DISABLE_TIME_CHECKS | GNUTLS_VERIFY_DISABLE_TRUSTED_TIME_CHECKS |
                                              GNUTLS_VERIFY_DISABLE_CA_SIGN | GNUTLS_VERIFY_ALLOW_BROKEN |
                                              GNUTLS_VERIFY_IGNORE_UNKNOWN_CRIT_EXTENSIONS,
                                          &status);
    return rc >= 0 && !(status & (GNUTLS_CERT_SIGNATURE_FAILURE | GNUTLS_CERT_SIGNER_NOT_FOUND));
}

}  // namespace ssm::pki
