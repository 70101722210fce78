// Recovering the content-encryption key from a RecipientInfo addressed to one of our keys:
// KTRI RSA PKCS#1 v1.5 and RSAES-OAEP (RFC 8017 §7.1.2, RFC 4055/3560), KARI ECDH with the
// X9.63 KDF (RFC 5753, SEC 1 dhSinglePass schemes) and RFC 3394 AES key unwrap (for 3DES
// content, RFC 3217 Triple-DES key unwrap). Everything received is untrusted. Following
// RFC 3218 these never fail on bad key material: they return a random key of the expected
// size and `valid = false`, decided in constant time where the private operation's result is
// involved; the caller decrypts with it anyway and reports the failure only at the end. Token
// failures propagate as Error(HsmUnavailable).
#pragma once
#include <nettle/nettle-meta.h>

#include <cstdint>
#include <string>

#include "base/bytes.h"
#include "smime/cms/algorithm_ids.h"
#include "smime/cms/enveloped_decode.h"
#include "smime/cms/secret_bytes.h"
#include "smime/decrypter.h"

namespace ssm::smime::cms {

struct RecoveredKey {
    SecretBytes cek;
    bool valid = false;
    std::string key_management;  // "ktri-rsa-pkcs1", "kari-ecdh-p256", ...
    std::string problem;         // why it is not valid (debug logs only)
};

// `cek_size` is the content cipher's key size: a decoded key of another size is invalid.
RecoveredKey recover_ktri_key(Decrypter& key, const AlgorithmId& key_encryption, ByteView encrypted_key,
                              std::size_t cek_size);
RecoveredKey recover_kari_key(Decrypter& key, const RecipientInfoView& kari, ByteView encrypted_key,
                              std::size_t cek_size);

// The RSA decoding steps on an already decrypted block (exposed for tests). Both write the
// message into `cek` when the block is valid for a message of exactly cek.size() octets,
// and leave `cek` unchanged otherwise; the return is 0xff (valid) or 0.
std::uint8_t pkcs1v15_decode(ByteView em, SecretBytes& cek);
// `label`: RSAES-OAEP's label (RFC 8017 §7.1.2), empty unless pSourceFunc gives one.
std::uint8_t oaep_decode(ByteView em, const struct nettle_hash& hash, const struct nettle_hash& mgf_hash,
                         SecretBytes& cek, ByteView label = {});

}  // namespace ssm::smime::cms
