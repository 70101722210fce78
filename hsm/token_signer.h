// smime::Signer over a key held in a PKCS#11 token: turns (scheme, digest, hash) into the
// PKCS#11 mechanism and input the token wants and its output into what CMS expects.
// Input hashes come from our own CMS code; the token is trusted to sign, nothing more.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include <gnutls/gnutls.h>

#include "hsm/helper_key.h"
#include "smime/signer.h"

namespace ssm::hsm {

// Thread-safe: concurrent milter threads may share one TokenSigner. Its KeyBackend is a
// PooledKey (our own sessions, TokenConfig::sessions of them: signatures in parallel) where
// the module can be reached directly, else a HelperKey (pkcs11-helper's one session lock).
class TokenSigner final : public smime::Signer {
public:
    TokenSigner(std::unique_ptr<KeyBackend> key, Bytes certificate_der,
                std::vector<Bytes> chain_der, smime::KeyType key_type, unsigned key_bits,
                smime::KeyRestriction restriction = {});

    const Bytes& certificate_der() const override { return m_certificate; }
    std::vector<Bytes> chain_der() const override { return m_chain; }
    smime::KeyType key_type() const override { return m_key_type; }
    unsigned key_bits() const { return m_key_bits; }
    // An id-RSASSA-PSS key's (KeyStore: Identity::rsa_pss, rsa_pss_digest).
    smime::KeyRestriction restriction() const override { return m_restriction; }

    // RSA PKCS#1 v1.5: CKM_RSA_PKCS over the DER DigestInfo -> modulus-sized block.
    // RSA-PSS: CKM_RSA_PKCS_PSS over the hash, MGF1 with the same hash, salt = hash length.
    // A scheme or digest outside restriction() throws Error(Internal) before the token signs:
    // the signing code asks restriction() first (smime::scheme_for/digest_for), so this is a bug.
    // ECDSA: CKM_ECDSA over the hash; the token's r||s becomes a DER Ecdsa-Sig-Value.
    Bytes sign_digest(smime::SignatureScheme scheme, smime::DigestAlgorithm digest,
                      ByteView hash) override;
    // Ed25519 (pure EdDSA, CKM_EDDSA without parameters) over the message itself.
    Bytes sign_message(smime::SignatureScheme scheme, ByteView message) override;
    // Every signature is checked with the certificate's public key before it is returned:
    // a key under the certificate's CKA_ID that is not its own (an EC key shows nothing of
    // its public point) or a faulty token (an RSA-CRT fault gives the key away) never yields
    // a signature; such a signature throws Error(HsmUnavailable) instead.

private:
    void check(gnutls_sign_algorithm_t algorithm, ByteView signed_input, ByteView signature,
               bool input_is_hash) const;

    std::unique_ptr<KeyBackend> m_key;
    Bytes m_certificate;
    std::vector<Bytes> m_chain;
    smime::KeyType m_key_type;
    unsigned m_key_bits;
    smime::KeyRestriction m_restriction;
};

}  // namespace ssm::hsm
