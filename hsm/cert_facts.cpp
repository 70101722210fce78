// Certificate facts through GnuTLS (see cert_facts.h). Untrusted text (names) is only
// copied as plain addr-specs in their key form (base/certificate_mailboxes.h); nothing here decides trust.
#include "hsm/cert_facts.h"

#include <utility>

#include "base/certificate_key.h"
#include "base/certificate_mailboxes.h"
#include "base/gnutls_datum.h"
#include "base/rsa_pss_params.h"

namespace ssm::hsm {

std::optional<X509Cert> X509Cert::parse_der(ByteView der)
{
    gnutls_x509_crt_t c = nullptr;
    if (gnutls_x509_crt_init(&c) < 0) return std::nullopt;
    const gnutls_datum_t d = datum_view(der);
    if (gnutls_x509_crt_import(c, &d, GNUTLS_X509_FMT_DER) < 0) {
        gnutls_x509_crt_deinit(c);
        return std::nullopt;
    }
    return X509Cert(c);
}

X509Cert::X509Cert(X509Cert&& o) noexcept : m_crt(std::exchange(o.m_crt, nullptr)) {}

X509Cert& X509Cert::operator=(X509Cert&& o) noexcept
{
    if (this != &o) {
        if (m_crt) gnutls_x509_crt_deinit(m_crt);
        m_crt = std::exchange(o.m_crt, nullptr);
    }
    return *this;
}

X509Cert::~X509Cert()
{
    if (m_crt) gnutls_x509_crt_deinit(m_crt);
}

bool X509Cert::issued_by(const X509Cert& issuer) const noexcept
{
    return gnutls_x509_crt_check_issuer(m_crt, issuer.m_crt) == 1;
}

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
    if (pk < 0) {
        // GnuTLS 3.7.9 refuses an id-RSASSA-PSS key whose parameters name MGF1 over another hash
        // than theirs (RFC 4055 §3.1 allows it): read from the DER what it is, as pki facts()
        // does (base/certificate_key.h). key_type stays unset: we do not sign with such a key.
        GnutlsDatum der;
        const auto key = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &der.d) >= 0
                             ? certificate_key(ByteView(der.d.data, der.d.size))
                             : std::nullopt;
        if (key && key->algorithm == kOidRsassaPss) {
            f.rsa_pss = true;
            bits = key->rsa_modulus_bits;
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
