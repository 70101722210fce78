// Software-key Signer for unit tests (see soft_signer.h). GnuTLS computes exactly what
// SignerInfo.signature must hold, which is also the contract hsm/ must meet:
//   RSA PKCS#1 v1.5: RSASSA-PKCS1-v1_5 block over DigestInfo(hash) — sign_hash2 with
//                    GNUTLS_SIGN_RSA_SHA* builds the DigestInfo itself;
//   RSA-PSS:         RSASSA-PSS block, MGF1 same hash, salt = hash length
//                    (GNUTLS_SIGN_RSA_PSS_RSAE_SHA*: PSS with an rsaEncryption key);
//   ECDSA:           DER ECDSA-Sig-Value (GnuTLS returns DER);
//   Ed25519:         the 64-byte signature over the message itself.
#include "tests/unit/soft_signer.h"

#include <stdexcept>

#include "base/error.h"
#include "tests/unit/test_support.h"

namespace ssm::test {
namespace {

gnutls_sign_algorithm_t sign_algorithm(smime::SignatureScheme s, smime::DigestAlgorithm d)
{
    using smime::DigestAlgorithm;
    using smime::SignatureScheme;
    const int i = d == DigestAlgorithm::Sha256 ? 0 : d == DigestAlgorithm::Sha384 ? 1 : 2;
    switch (s) {
    case SignatureScheme::RsaPkcs1v15: {
        const gnutls_sign_algorithm_t a[] = {GNUTLS_SIGN_RSA_SHA256, GNUTLS_SIGN_RSA_SHA384,
                                             GNUTLS_SIGN_RSA_SHA512};
        return a[i];
    }
    case SignatureScheme::RsaPss: {
        const gnutls_sign_algorithm_t a[] = {GNUTLS_SIGN_RSA_PSS_RSAE_SHA256,
                                             GNUTLS_SIGN_RSA_PSS_RSAE_SHA384,
                                             GNUTLS_SIGN_RSA_PSS_RSAE_SHA512};
        return a[i];
    }
    case SignatureScheme::Ecdsa: {
        const gnutls_sign_algorithm_t a[] = {GNUTLS_SIGN_ECDSA_SHA256, GNUTLS_SIGN_ECDSA_SHA384,
                                             GNUTLS_SIGN_ECDSA_SHA512};
        return a[i];
    }
    case SignatureScheme::Ed25519: break;
    }
    throw Error(Failure::Internal, "no pre-hash signature algorithm for this scheme");
}

Bytes take(gnutls_datum_t& d)
{
    Bytes out(d.data, d.data + d.size);
    gnutls_free(d.data);
    return out;
}

Bytes file_bytes(const std::filesystem::path& p)
{
    const std::string s = read_file(p);
    return Bytes(s.begin(), s.end());
}

}  // namespace

SoftSigner::SoftSigner(const std::filesystem::path& key_pem, const std::filesystem::path& cert_der,
                       const std::vector<std::filesystem::path>& chain_der)
    : m_cert(file_bytes(cert_der))
{
    for (const auto& c : chain_der) m_chain.push_back(file_bytes(c));
    if (gnutls_privkey_init(&m_key) < 0) throw std::runtime_error("gnutls_privkey_init");
    std::string pem = read_file(key_pem);
    gnutls_datum_t d{reinterpret_cast<unsigned char*>(pem.data()), unsigned(pem.size())};
    int rc = gnutls_privkey_import_x509_raw(m_key, &d, GNUTLS_X509_FMT_PEM, nullptr, 0);
    if (rc < 0) {
        gnutls_privkey_deinit(m_key);
        throw std::runtime_error("cannot import " + key_pem.string() + ": " + gnutls_strerror(rc));
    }
    switch (gnutls_privkey_get_pk_algorithm(m_key, nullptr)) {
    case GNUTLS_PK_RSA: m_type = smime::KeyType::Rsa; break;
    case GNUTLS_PK_ECDSA: m_type = smime::KeyType::Ec; break;
    case GNUTLS_PK_EDDSA_ED25519: m_type = smime::KeyType::Ed25519; break;
    default:
        gnutls_privkey_deinit(m_key);
        throw std::runtime_error("unsupported key type in " + key_pem.string());
    }
}

SoftSigner::~SoftSigner()
{
    gnutls_privkey_deinit(m_key);
}

Bytes SoftSigner::sign_digest(smime::SignatureScheme scheme, smime::DigestAlgorithm digest,
                              ByteView hash)
{
    gnutls_datum_t h{const_cast<unsigned char*>(hash.data()), unsigned(hash.size())};
    gnutls_datum_t sig{nullptr, 0};
    int rc = gnutls_privkey_sign_hash2(m_key, sign_algorithm(scheme, digest), 0, &h, &sig);
    if (rc < 0) throw Error(Failure::HsmUnavailable, std::string("sign_hash2: ") + gnutls_strerror(rc));
    return take(sig);
}

Bytes SoftSigner::sign_message(smime::SignatureScheme scheme, ByteView message)
{
    if (scheme != smime::SignatureScheme::Ed25519)
        throw Error(Failure::Internal, "sign_message is for pure schemes (Ed25519)");
    gnutls_datum_t m{const_cast<unsigned char*>(message.data()), unsigned(message.size())};
    gnutls_datum_t sig{nullptr, 0};
    int rc = gnutls_privkey_sign_data2(m_key, GNUTLS_SIGN_EDDSA_ED25519, 0, &m, &sig);
    if (rc < 0) throw Error(Failure::HsmUnavailable, std::string("sign_data2: ") + gnutls_strerror(rc));
    return take(sig);
}

}  // namespace ssm::test
