// Ephemeral-static key agreement for KeyAgreeRecipientInfo: ECDH on P-256/P-384 with the
// X9.63 KDF (RFC 5753 §7.2, RFC 8551 §2.7.1.2: SHA-256 for P-256, SHA-384 for P-384) and
// X25519 with HKDF-SHA256 (RFC 8418), then RFC 3394 AES key wrap of the CEK with a KEK as
// long as the CEK (AES-128 wrap for AES-128 content, AES-256 wrap for AES-256). nettle does
// the curve arithmetic; the recipient point (from an untrusted certificate) is validated.
#pragma once
#include <optional>
#include <string_view>

#include "base/bytes.h"
#include "smime/algorithms.h"
#include "smime/cms/algorithm_ids.h"
#include "smime/cms/recipient_key.h"
#include "smime/cms/secret_bytes.h"

namespace ssm::smime::cms {

struct KeyAgreement {
    AlgorithmId originator_algorithm;  // id-ecPublicKey (parameters absent) or id-X25519
    Bytes originator_public_key;       // BIT STRING content: 04||X||Y, or the 32-octet u
    AlgorithmId key_encryption_algorithm;  // the dhSinglePass scheme; parameters = the wrap
    Bytes encrypted_key;                   // AES key wrap of the CEK
};

// A fresh ephemeral key per call (per recipient and message). PolicyViolation when the
// recipient's point is not on its curve or X25519 yields the all-zero secret.
KeyAgreement agree_and_wrap(const RecipientKey& recipient, const SecretBytes& cek);

// The pieces, exposed so that tests can play the receiving side with nettle.
const char* key_wrap_oid(std::size_t kek_size);
// DER of ECC-CMS-SharedInfo { keyInfo {wrap OID}, suppPubInfo = KEK bits as 4 octets }.
Bytes ecc_cms_shared_info(std::string_view wrap_oid, std::size_t kek_size);
// ANSI X9.63 KDF: Hash(Z || counter || SharedInfo) for counter = 1, 2, ...
SecretBytes x963_kdf(DigestAlgorithm hash, ByteView z, ByteView shared_info, std::size_t length);
// RFC 5869 HKDF-SHA256 with no salt (RFC 8418 §2: no ukm).
SecretBytes hkdf_sha256(ByteView ikm, ByteView info, std::size_t length);
Bytes aes_key_wrap(const SecretBytes& kek, const SecretBytes& key);
// RFC 3394 unwrap under a 16-, 24- or 32-octet KEK into `out`, which holds wrapped.size() - 8
// octets (the inbound path: KeyAgreeRecipientInfo); false when the integrity check fails.
bool aes_key_unwrap(const SecretBytes& kek, ByteView wrapped, SecretBytes& out);
// The same into plain bytes, for tests; nullopt when `wrapped` is no wrapped key or fails.
std::optional<Bytes> aes_key_unwrap(const SecretBytes& kek, ByteView wrapped);

}  // namespace ssm::smime::cms
