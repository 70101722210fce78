// Signature encodings around raw PKCS#11 operations (see token_signer.h). DigestInfo and
// Ecdsa-Sig-Value are built by GnuTLS, never by hand-counted DER.
#include "base/gnutls_datum.h"
#include "hsm/token_signer.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "base/error.h"
#include "base/gnutls_handles.h"
#include "base/log.h"
#include "hsm/ecdsa_signature.h"
#include "smime/gnutls_digest.h"

namespace ssm::hsm {

using smime::DigestAlgorithm;
using smime::gnutls_digest;
using smime::KeyType;
using smime::SignatureScheme;

namespace {

struct PssMechanism {
    CK_MECHANISM_TYPE hash;
    CK_RSA_PKCS_MGF_TYPE mgf;
};

PssMechanism pss_mechanism(DigestAlgorithm d)
{
    switch (d) {
    case DigestAlgorithm::Sha256: return {CKM_SHA256, CKG_MGF1_SHA256};
    case DigestAlgorithm::Sha384: return {CKM_SHA384, CKG_MGF1_SHA384};
    case DigestAlgorithm::Sha512: return {CKM_SHA512, CKG_MGF1_SHA512};
    }
    throw Error(Failure::Internal, "unknown digest algorithm");
}

[[noreturn]] void wrong_key(std::string_view scheme, const KeyBackend& key)
{
    throw Error(Failure::Internal, std::string("signature scheme ") + std::string(scheme) +
                                       " does not fit " + key.description());
}

}  // namespace

void TokenSigner::check(gnutls_sign_algorithm_t algorithm, ByteView signed_input, ByteView signature,
                        bool input_is_hash) const
{
    // A fresh public key per check: GnuTLS does not promise that one pubkey object may be
    // used by several threads at once, and a parse costs far less than the token's signature.
    auto crt = new_gnutls_crt();
    auto key = new_gnutls_pubkey();
    const gnutls_datum_t c = datum_view(m_certificate), d = datum_view(signed_input), s = datum_view(signature);
    int rc = gnutls_x509_crt_import(crt.get(), &c, GNUTLS_X509_FMT_DER);
    if (rc >= 0) rc = gnutls_pubkey_import_x509(key.get(), crt.get(), 0);
    if (rc >= 0)
        rc = input_is_hash ? gnutls_pubkey_verify_hash2(key.get(), algorithm, 0, &d, &s)
                           : gnutls_pubkey_verify_data2(key.get(), algorithm, 0, &d, &s);
    if (rc >= 0) return;
    log::warning("hsm_signature_not_the_certificates",
                 {{"key", m_key->description()}, {"reason", gnutls_strerror(rc)}});
    throw Error(Failure::HsmUnavailable, "the signature of " + m_key->description() +
                                             " does not verify with its certificate (another key under its "
                                             "CKA_ID, or a token fault): not used");
}

TokenSigner::TokenSigner(std::unique_ptr<KeyBackend> key, Bytes certificate_der,
                         std::vector<Bytes> chain_der, KeyType key_type, unsigned key_bits,
                         smime::KeyRestriction restriction)
    : m_key(std::move(key)),
      m_certificate(std::move(certificate_der)),
      m_chain(std::move(chain_der)),
      m_key_type(key_type),
      m_key_bits(key_bits),
      m_restriction(restriction)
{
}

Bytes TokenSigner::sign_digest(SignatureScheme scheme, DigestAlgorithm digest, ByteView hash)
{
    if (hash.size() != smime::digest_size(digest))
        throw Error(Failure::Internal,
                    "hash length does not match " + std::string(smime::digest_name(digest)));
    switch (scheme) {
    case SignatureScheme::RsaPkcs1v15: {
        if (m_key_type != KeyType::Rsa) wrong_key(smime::scheme_name(scheme), *m_key);
        // RFC 4055 §1.2: never PKCS#1 v1.5 with an id-RSASSA-PSS key (verifiers refuse it).
        if (m_restriction.rsa_pss_only)
            throw Error(Failure::Internal, "rsa-pkcs1 asked of " + m_key->description() +
                                               ", an id-RSASSA-PSS key (RSASSA-PSS only): not signed");
        GnutlsDatum info;
        const gnutls_datum_t h = datum_view(hash);
        if (gnutls_encode_ber_digest_info(gnutls_digest(digest), &h, &info.d) < 0)
            throw Error(Failure::Internal, "cannot encode DigestInfo");
        CK_MECHANISM mech{CKM_RSA_PKCS, nullptr, 0};
        Bytes sig = m_key->sign(mech, info.view());
        check(gnutls_pk_to_sign(GNUTLS_PK_RSA, gnutls_digest(digest)), hash, sig, true);
        return sig;
    }
    case SignatureScheme::RsaPss: {
        if (m_key_type != KeyType::Rsa) wrong_key(smime::scheme_name(scheme), *m_key);
        // RFC 4055 §3.1: a key with RSASSA-PSS parameters signs with their hash alone (and MGF1
        // over it, as below); another would give a signature no verifier accepts.
        if (m_restriction.digest && *m_restriction.digest != digest)
            throw Error(Failure::Internal, std::string("rsa-pss/") + std::string(smime::digest_name(digest)) +
                                               " asked of " + m_key->description() +
                                               ", whose RSASSA-PSS parameters allow " +
                                               std::string(smime::digest_name(*m_restriction.digest)) +
                                               " only: not signed");
        const PssMechanism p = pss_mechanism(digest);
        CK_RSA_PKCS_PSS_PARAMS params{p.hash, p.mgf, hash.size()};
        CK_MECHANISM mech{CKM_RSA_PKCS_PSS, &params, sizeof params};
        Bytes sig = m_key->sign(mech, hash);
        check(gnutls_pk_to_sign(GNUTLS_PK_RSA_PSS, gnutls_digest(digest)), hash, sig, true);
        return sig;
    }
    case SignatureScheme::Ecdsa: {
        if (m_key_type != KeyType::Ec) wrong_key(smime::scheme_name(scheme), *m_key);
        CK_MECHANISM mech{CKM_ECDSA, nullptr, 0};
        const Bytes raw = m_key->sign(mech, hash);
        GnutlsDatum der;
        const int rc = ecdsa_sig_value_from_raw(raw, &der.d);
        if (rc == GNUTLS_E_PK_SIGN_FAILED)
            throw Error(Failure::HsmUnavailable,
                        "ECDSA signature of odd length from " + m_key->description());
        if (rc < 0) throw Error(Failure::Internal, "cannot encode Ecdsa-Sig-Value");
        Bytes sig = der.bytes();
        check(gnutls_pk_to_sign(GNUTLS_PK_ECDSA, gnutls_digest(digest)), hash, sig, true);
        return sig;
    }
    case SignatureScheme::Ed25519:
        throw Error(Failure::Internal, "Ed25519 is not a pre-hash scheme: use sign_message");
    }
    throw Error(Failure::Internal, "unknown signature scheme");
}

Bytes TokenSigner::sign_message(SignatureScheme scheme, ByteView message)
{
    if (scheme != SignatureScheme::Ed25519)
        throw Error(Failure::Internal,
                    std::string(smime::scheme_name(scheme)) + " signs a digest: use sign_digest");
    if (m_key_type != KeyType::Ed25519) wrong_key(smime::scheme_name(scheme), *m_key);
    // Pure Ed25519: CKM_EDDSA without CK_EDDSA_PARAMS (SoftHSM 2.6.1 lists EDDSA).
    CK_MECHANISM mech{CKM_EDDSA, nullptr, 0};
    Bytes sig = m_key->sign(mech, message);
    if (sig.size() != 64)
        throw Error(Failure::HsmUnavailable,
                    "Ed25519 signature of unexpected length from " + m_key->description());
    check(GNUTLS_SIGN_EDDSA_ED25519, message, sig, false);
    return sig;
}

}  // namespace ssm::hsm
