// Recipient certificate → RecipientKey through GnuTLS; see recipient_key.h. The EC point is
// only copied here; key_agreement.cpp validates it on the curve before use.
#include "smime/cms/recipient_key.h"

#include <gnutls/abstract.h>
#include <gnutls/x509.h>

#include <memory>
#include <string>

#include "base/error.h"
#include "base/gnutls_datum.h"
#include "base/gnutls_handles.h"

namespace ssm::smime::cms {
namespace {

[[noreturn]] void refuse(const std::string& why)
{
    throw Error(Failure::PolicyViolation, "unusable recipient certificate: " + why);
}

Bytes fixed_length(const GnutlsDatum& v, std::size_t size)
{
    Bytes b = v.bytes();
    while (b.size() > size && b.front() == 0) b.erase(b.begin());
    if (b.size() > size) refuse("EC coordinate longer than the field");
    b.insert(b.begin(), size - b.size(), 0);
    return b;
}

}  // namespace

RecipientKey recipient_key_of(ByteView cert_der)
{
    if (cert_der.empty() || cert_der.size() > 1024 * 1024) refuse("empty or oversized DER");
    const GnutlsCrt crt = new_gnutls_crt();
    gnutls_datum_t der{const_cast<std::uint8_t*>(cert_der.data()), unsigned(cert_der.size())};
    int rc = gnutls_x509_crt_import(crt.get(), &der, GNUTLS_X509_FMT_DER);
    if (rc < 0) refuse(std::string("not an X.509 certificate (") + gnutls_strerror(rc) + ")");

    const GnutlsPubkey key = new_gnutls_pubkey();
    rc = gnutls_pubkey_import_x509(key.get(), crt.get(), 0);
    if (rc < 0) {
        // GnuTLS refuses curves it does not know (secp256k1, brainpool) at this point.
        const int alg = gnutls_x509_crt_get_pk_algorithm(crt.get(), nullptr);
        refuse(std::string("public key not readable (") + gnutls_strerror(rc) + ", algorithm " +
               (alg > 0 ? gnutls_pk_get_name(gnutls_pk_algorithm_t(alg)) : "unknown") + ")");
    }

    RecipientKey out;
    const int alg = gnutls_pubkey_get_pk_algorithm(key.get(), nullptr);
    switch (alg) {
    case GNUTLS_PK_RSA: {
        GnutlsDatum m, e;
        rc = gnutls_pubkey_export_rsa_raw2(key.get(), &m.d, &e.d, GNUTLS_EXPORT_FLAG_NO_LZ);
        if (rc < 0) refuse(std::string("RSA key not readable: ") + gnutls_strerror(rc));
        out.type = RecipientKeyType::Rsa;
        out.rsa_modulus = m.bytes();
        out.rsa_exponent = e.bytes();
        break;
    }
    case GNUTLS_PK_EC:
    case GNUTLS_PK_ECDH_X25519: {
        gnutls_ecc_curve_t curve = GNUTLS_ECC_CURVE_INVALID;
        GnutlsDatum x, y;
        rc = gnutls_pubkey_export_ecc_raw2(key.get(), &curve, &x.d, &y.d, GNUTLS_EXPORT_FLAG_NO_LZ);
        if (rc < 0) refuse(std::string("EC key not readable: ") + gnutls_strerror(rc));
        if (curve == GNUTLS_ECC_CURVE_SECP256R1) {
            out.type = RecipientKeyType::EcP256;
            out.ec_x = fixed_length(x, 32);
            out.ec_y = fixed_length(y, 32);
        } else if (curve == GNUTLS_ECC_CURVE_SECP384R1) {
            out.type = RecipientKeyType::EcP384;
            out.ec_x = fixed_length(x, 48);
            out.ec_y = fixed_length(y, 48);
        } else if (curve == GNUTLS_ECC_CURVE_SECP521R1) {
            out.type = RecipientKeyType::EcP521;
            out.ec_x = fixed_length(x, 66);
            out.ec_y = fixed_length(y, 66);
        } else if (curve == GNUTLS_ECC_CURVE_X25519) {
            if (x.d.size != 32) refuse("X25519 key is not 32 octets");
            out.type = RecipientKeyType::X25519;
            out.ec_x = x.bytes();  // little-endian u-coordinate, as RFC 7748 and GnuTLS keep it
        } else {
            const char* name = gnutls_ecc_curve_get_name(curve);
            refuse(std::string("elliptic curve ") + (name ? name : "unknown") +
                   " is not supported (P-256, P-384, P-521, X25519 are)");
        }
        break;
    }
    case GNUTLS_PK_DSA: refuse("DSA keys cannot be used for encryption");
    case GNUTLS_PK_RSA_PSS: refuse("an RSASSA-PSS key is restricted to signing");
    case GNUTLS_PK_EDDSA_ED25519:
    case GNUTLS_PK_EDDSA_ED448: refuse("an EdDSA key is restricted to signing");
    default:
        refuse(std::string("public key algorithm ") +
               (alg > 0 ? gnutls_pk_get_name(gnutls_pk_algorithm_t(alg)) : "unknown") +
               " is not supported for encryption");
    }

    out.issuer_serial = issuer_serial_of(cert_der);
    Bytes ski(64);
    std::size_t ski_size = ski.size();
    unsigned critical = 0;
    if (gnutls_x509_crt_get_subject_key_id(crt.get(), ski.data(), &ski_size, &critical) >= 0) {
        ski.resize(ski_size);
        out.subject_key_id = std::move(ski);
    }
    return out;
}

const char* key_management_name(RecipientKeyType type, bool rsa_oaep)
{
    switch (type) {
    case RecipientKeyType::Rsa: return rsa_oaep ? "ktri-rsa-oaep" : "ktri-rsa-pkcs1";
    case RecipientKeyType::EcP256: return "kari-ecdh-p256";
    case RecipientKeyType::EcP384: return "kari-ecdh-p384";
    case RecipientKeyType::EcP521: return "kari-ecdh-p521";
    case RecipientKeyType::X25519: return "kari-x25519";
    }
    return "unknown";
}

}  // namespace ssm::smime::cms
