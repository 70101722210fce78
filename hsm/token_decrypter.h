// smime::Decrypter over a private key in a PKCS#11 token, through our own pooled sessions
// (session_pool.h), never through pkcs11-helper: a failed operation there makes the helper
// reset its session and log in again, which on SoftHSM invalidates every other key's handle
// (TOOLCHAIN: the cascade), and attackers choose what we decrypt. So every input is checked
// here first (RSA block < n, EC point on the curve), and RSA runs as CKM_RSA_X_509, which
// cannot fail on a block < n: padding is the caller's job, in constant time (RFC 3218).
#pragma once
#include <memory>
#include <string>

#include "base/bytes.h"
#include "hsm/session_pool.h"
#include "smime/decrypter.h"

struct ecc_curve;

namespace ssm::hsm {

class TokenDecrypter final : public smime::Decrypter {
public:
    // Throws Error(HsmUnavailable) when the certificate's key is neither RSA nor EC P-256/P-384.
    TokenDecrypter(std::shared_ptr<SessionPool> pool, Bytes certificate_der, Bytes key_id,
                   const std::string& description);

    const Bytes& certificate_der() const override { return m_certificate; }
    smime::KeyType key_type() const override { return m_key_type; }
    Bytes rsa_raw_decrypt(ByteView block) override;
    Bytes ecdh_derive(ByteView peer_public) override;

    // RSA: the modulus size in bytes; EC: the field size in bytes.
    std::size_t size() const { return m_size; }

private:
    [[noreturn]] void token_failed(const char* what, CK_RV rv) const;

    std::shared_ptr<SessionPool> m_pool;
    Bytes m_certificate;
    KeyMatch m_key;  // the certificate's key under its CKA_ID (key_match.h)
    std::string m_description;
    smime::KeyType m_key_type = smime::KeyType::Rsa;
    std::size_t m_size = 0;
    Bytes m_modulus;                       // RSA: n, big-endian, m_size bytes
    const ecc_curve* m_curve = nullptr;    // EC: the nettle curve of the key
};

// The answer of a raw RSA decryption, `returned` bytes at the start of `block` (modulus-sized),
// right-aligned in place (some tokens strip leading zeros). More than the block is a token fault:
// the block is wiped first, then Error(HsmUnavailable).
void align_rsa_block(Bytes& block, CK_ULONG returned);

}  // namespace ssm::hsm
