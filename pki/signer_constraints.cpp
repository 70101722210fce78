// Our own checks behind GnuTLS's signer-constraints bit (see signer_constraints.h). Input is
// untrusted: the certificate's DER is read through der_tlv, bounded.
#include "pki/signer_constraints.h"

#include <memory>

#include <gnutls/abstract.h>

#include "pki/der_tlv.h"

namespace ssm::pki {

namespace {

struct PubkeyDeleter {
    void operator()(gnutls_pubkey_st* k) const noexcept { gnutls_pubkey_deinit(k); }
};
struct NameConstraintsDeleter {
    void operator()(gnutls_name_constraints_st* nc) const noexcept { gnutls_x509_name_constraints_deinit(nc); }
};
struct FeaturesDeleter {
    void operator()(gnutls_x509_tlsfeatures_st* f) const noexcept { gnutls_x509_tlsfeatures_deinit(f); }
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
    // No GNUTLS_VERIFY_ALLOW_BROKEN: verify_crt refuses such a signature as check_path calls it,
    // and for a certificate that names itself as its issuer reports only GNUTLS_CERT_INVALID.
    return gnutls_pubkey_verify_data2(key.get(), static_cast<gnutls_sign_algorithm_t>(algo), 0, &parts->tbs,
                                      &parts->signature) >= 0;
}

std::optional<std::string> gnutls_reads_name_constraints(const std::vector<const Certificate*>& path)
{
    gnutls_x509_name_constraints_t raw = nullptr;
    if (gnutls_x509_name_constraints_init(&raw) < 0) return "name constraints cannot be read (out of memory)";
    const std::unique_ptr<gnutls_name_constraints_st, NameConstraintsDeleter> nc(raw);
    // The issuer of each link from the anchor's down; the end entity's own issuer (path[1]) last,
    // whose failure does not stop GnuTLS before the end entity's link is done: not needed.
    for (std::size_t i = path.size(); i-- > 2;) {
        const int rc = gnutls_x509_crt_get_name_constraints(path[i]->get(), nc.get(),
                                                            GNUTLS_NAME_CONSTRAINTS_FLAG_APPEND, nullptr);
        if (rc < 0 && rc != GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
            return "GnuTLS cannot read the name constraints of CA certificate '" + printable(facts(*path[i]).subject) +
                   "' and so does not check the certificates below it";
    }
    return std::nullopt;
}

std::optional<std::string> tls_features_hold(const std::vector<const Certificate*>& path)
{
    gnutls_x509_tlsfeatures_t raw = nullptr;
    if (gnutls_x509_tlsfeatures_init(&raw) < 0) return "TLS features cannot be read (out of memory)";
    const std::unique_ptr<gnutls_x509_tlsfeatures_st, FeaturesDeleter> features(raw);
    for (std::size_t i = path.size(); i-- > 1;) {
        const int rc = gnutls_x509_crt_get_tlsfeatures(path[i]->get(), features.get(), GNUTLS_EXT_FLAG_APPEND, nullptr);
        if (rc < 0 && rc != GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) return "TLS features of an issuer do not read";
        if (gnutls_x509_tlsfeatures_check_crt(features.get(), path[i - 1]->get()) == 0)
            return "a certificate lacks TLS features its issuers require (RFC 7633)";
    }
    return std::nullopt;
}

}  // namespace ssm::pki
