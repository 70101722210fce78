// Certificate facts through GnuTLS (see cert_facts.h). Untrusted text (names) is only
// copied as plain addr-specs in their key form (base/certificate_mailboxes.h); nothing here decides trust.
#include "hsm/cert_facts.h"

#include <utility>

#include "base/certificate_issuer.h"
#include "base/certificate_key.h"
#include "base/certificate_mailboxes.h"
#include "base/gnutls_datum.h"
#include "base/rsa_pss_params.h"
#include "smime/gnutls_digest.h"

namespace ssm::hsm {

std::optional<X509Cert> X509Cert::parse_der(ByteView der)
{
    auto crt = import_gnutls_crt(der);
    if (!crt) return std::nullopt;
    return X509Cert(std::move(crt));
}

bool X509Cert::issued_by(const X509Cert& issuer) const noexcept
{
    return names_as_issuer(m_crt.get(), issuer.m_crt.get());
}

namespace {

// The parameters of an id-RSASSA-PSS key (`parameters`, as certificate_key reads them): fills
// f.rsa_pss_digest or f.rsa_pss_refusal (see cert_facts.h).
void read_key_pss_params(ByteView parameters, CertFacts& f)
{
    if (parameters.empty()) return;  // absent: the key may sign with any hash (RFC 4055 §1.2)
    RsaPssRefusal why;
    const auto params = read_rsa_pss_params(parameters, why);
    if (!params) {
        f.rsa_pss_refusal = "its RSASSA-PSS parameters are refused" + (why.oid.empty() ? "" : " (" + why.oid + ")");
        return;
    }
    const std::optional<smime::DigestAlgorithm> hash = smime::digest_from_gnutls(params->hash);
    if (!hash)
        f.rsa_pss_refusal = "its RSASSA-PSS parameters name SHA-1, which we do not sign with";
    else if (params->mask != params->hash)
        f.rsa_pss_refusal = "its RSASSA-PSS parameters name MGF1 over another hash than theirs";
    else if (params->salt > smime::digest_size(*hash))
        f.rsa_pss_refusal = "its RSASSA-PSS parameters ask a salt of " + std::to_string(params->salt) +
                            " octets, longer than the hash (we sign with salt = hash length)";
    else
        f.rsa_pss_digest = hash;
}

}  // namespace

CertFacts cert_facts(const X509Cert& cert)
{
    gnutls_x509_crt_t crt = cert.get();
    CertFacts f;
    f.email_addresses = certificate_mailbox_keys(crt);  // the rule pki::facts follows

    unsigned bits = 0;
    const int pk = gnutls_x509_crt_get_pk_algorithm(crt, &bits);
    switch (pk) {
    case GNUTLS_PK_RSA_PSS: f.rsa_pss = true; [[fallthrough]];
    case GNUTLS_PK_RSA: f.key_type = smime::KeyType::Rsa; break;
    case GNUTLS_PK_ECDSA: f.key_type = smime::KeyType::Ec; break;
    case GNUTLS_PK_EDDSA_ED25519: f.key_type = smime::KeyType::Ed25519; break;
    case GNUTLS_PK_ECDH_X25519: f.x25519 = true; break;
    default: break;
    }
    if (pk < 0 || f.rsa_pss) {
        // GnuTLS 3.7.9 refuses an id-RSASSA-PSS key whose parameters name MGF1 over another hash
        // than theirs (RFC 4055 §3.1 allows it): read from the DER what it is, as pki facts()
        // does (base/certificate_key.h). key_type stays unset: we do not sign with such a key.
        // Of one GnuTLS reads, the parameters: they decide how it may sign.
        GnutlsDatum der;
        const auto key = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &der.d) >= 0
                             ? certificate_key(der.view())
                             : std::nullopt;
        if (key && key->algorithm == kOidRsassaPss) {
            if (pk < 0) bits = key->rsa_modulus_bits;
            f.rsa_pss = true;
            read_key_pss_params(key->parameters, f);
        } else if (f.rsa_pss) {
            f.rsa_pss_refusal = "its key does not read from the certificate's DER";
        }
    }
    // GnuTLS counts a curve's size in whole octets (secp521r1: 66 octets, "528 bits"); the
    // key's name and the digest choice need the curve's own size.
    if (f.key_type == smime::KeyType::Ec && bits == 528) bits = 521;
    f.key_bits = bits;
    f.not_before = gnutls_x509_crt_get_activation_time(crt);
    f.not_after = gnutls_x509_crt_get_expiration_time(crt);
    // RFC 5280 §4.1.2.2 allows 20 octets; 64 leaves room for the non-conforming.
    f.serial.resize(64);
    std::size_t serial_size = f.serial.size();
    if (gnutls_x509_crt_get_serial(crt, f.serial.data(), &serial_size) < 0) serial_size = 0;
    f.serial.resize(serial_size);

    unsigned int ca = 0;
    f.is_ca = gnutls_x509_crt_get_basic_constraints(crt, nullptr, &ca, nullptr) >= 0 && ca;
    f.self_signed = cert.issued_by(cert);

    unsigned int usage = 0;
    if (gnutls_x509_crt_get_key_usage(crt, &usage, nullptr) >= 0) {
        f.digital_signature =
            (usage & (GNUTLS_KEY_DIGITAL_SIGNATURE | GNUTLS_KEY_NON_REPUDIATION)) != 0;
        f.key_encipherment = (usage & GNUTLS_KEY_KEY_ENCIPHERMENT) != 0;
        f.key_agreement = (usage & GNUTLS_KEY_KEY_AGREEMENT) != 0;
    }
    return f;
}

}  // namespace ssm::hsm
