// Inbound decryption of EnvelopedData / AuthEnvelopedData (RFC 5652 §6, RFC 5083/5084, 8103)
// with our private keys behind smime::Decrypter (KTRI RSA v1.5/OAEP, KARI ECDH P-256/P-384).
// Input is untrusted BER of any size: only the structures around the encrypted content are
// held in memory (bounded), the content streams through the cipher into the caller's sink.
//
// Failure classes. Before a RecipientInfo matches one of our keys, bad structure is
// Error(MalformedMessage) (MessageTooLarge when the structures exceed kMaxEnvelopeStructure).
// Once one matches, EVERY failure — bad PKCS#1 v1.5 or OAEP block, wrong key, key unwrap
// integrity, unsupported algorithm, CBC padding, GCM or Poly1305 tag, truncated or malformed
// content and trailer — is one DecryptionFailed with the one text kDecryptFailureText (RFC
// 3218: the gateway must not be an oracle). A bad key block does not stop early: decryption
// continues with a random content key and the failure is reported after the whole content,
// like any other. Token failures stay Error(HsmUnavailable); sink failures keep their own
// class.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/error.h"
#include "base/stream.h"
#include "smime/cms/content_cipher.h"
#include "smime/decrypter.h"

namespace ssm::smime::cms {

// Bytes of everything before the encrypted content (and, separately, after it) that we hold.
inline constexpr std::size_t kMaxEnvelopeStructure = 1024 * 1024;

inline constexpr const char* kDecryptFailureText = "the message could not be decrypted";

// The uniform cryptographic failure. what() is always kDecryptFailureText (safe for SMTP
// replies and headers); debug() says what went wrong, for debug logs only.
class DecryptionFailed final : public Error {
public:
    explicit DecryptionFailed(std::string debug)
        : Error(Failure::CryptographicFailure, kDecryptFailureText), m_debug(std::move(debug))
    {
    }
    const std::string& debug() const noexcept { return m_debug; }
    // The cause when it is an algorithm or parameter we do not implement ("unsupported
    // content encryption OID", "...: unsupported RSAES-OAEP parameters"): decided from the
    // message's AlgorithmIdentifiers before any key is used, so it may be logged; every other
    // cause (padding, tag, wrong key, tampering) depends on secrets and stays uniform even
    // in the log (RFC 3218). Empty otherwise.
    std::string public_cause() const
    {
        return m_debug.find("unsupported ") != std::string::npos ? m_debug : std::string();
    }

private:
    std::string m_debug;
};

enum class DecryptStatus { Decrypted, NotForUs };

struct DecryptOutcome {
    DecryptStatus status = DecryptStatus::NotForUs;
    // When Decrypted: the content cipher when it is one we also send with; empty for the
    // ones we only read (AES-192-CBC/GCM, 3DES-CBC, Camellia-CBC).
    // cipher_name names all of them: "aes128-cbc", "aes192-cbc", "aes256-cbc", "des-ede3-cbc",
    // "camellia128-cbc" (192, 256), "aes128-gcm", "aes192-gcm", "aes256-gcm", "chacha20-poly1305".
    std::optional<ContentCipher> cipher;
    std::string cipher_name;
    // "ktri-rsa-pkcs1", "ktri-rsa-oaep", "kari-ecdh-p256", "kari-ecdh-p384", "kari-ecdh-p521"
    std::string key_management;
    Bytes recipient_certificate_der;  // which of our keys opened it
    bool auth_enveloped = false;
    std::string content_type;  // encryptedContentInfo.contentType (normally id-data)
};

// `der` is a ContentInfo holding EnvelopedData or AuthEnvelopedData (DER or BER: indefinite
// lengths and constructed OCTET STRINGs as `openssl cms -stream` writes them). RecipientInfos
// are matched to `keys` by issuerAndSerialNumber or subjectKeyIdentifier (KTRI rid, each KARI
// rKeyId/issuerAndSerialNumber); the first RecipientInfo, in message order, that names one
// of our keys is the one used. NotForUs when none does: nothing after the RecipientInfos has
// been read then, and `plaintext` is untouched.
// Plaintext is written to `plaintext` as it is decrypted; when this throws, the sink holds
// garbage or partial data that the caller must discard. For AuthEnvelopedData the AEAD tag
// is checked only at the end: until this returns, the sink holds UNAUTHENTICATED data.
// AuthEnvelopedData with authAttrs (RFC 5083; they follow the content) is read twice: `der`
// is rewound once to check the tag with them (one pass otherwise).
DecryptOutcome decrypt_envelope(ByteSource& der, const std::vector<std::shared_ptr<Decrypter>>& keys,
                                ByteSink& plaintext);

// Mail for several recipients at once whose keys are their own (no one key may open it for
// all of them): `key_sets` holds one set per recipient. Every set must name a RecipientInfo,
// else NotForUs (no key used, nothing after the RecipientInfos read, `plaintext` untouched).
// Then each set's RecipientInfo is unwrapped with its key (one key operation per set; sets
// naming one key for one encryptedKey, an envelope duplicate, share it) and the
// content keys are compared in constant time: when they are one key, each set's owner was a
// recipient the sender encrypted to (a RecipientInfo copied from another message unwraps
// another key). The content is decrypted once, with that key. Keys that differ fail like
// any other failure after a match, as one DecryptionFailed after the whole content (RFC 3218:
// an invalid key block yields a random key, so it is a mismatch, nothing distinct). The
// outcome names the first set's key. Otherwise as decrypt_envelope.
DecryptOutcome decrypt_envelope_for_each(ByteSource& der,
                                         const std::vector<std::vector<std::shared_ptr<Decrypter>>>& key_sets,
                                         ByteSink& plaintext);

// The certificate of the key among `keys` that decrypt_envelope would use for `der` (the first
// RecipientInfo, in message order, naming one of them), without any key operation and without
// reading the encrypted content; nullopt when none is named. Throws like decrypt_envelope
// before a match. For saying why a message stays encrypted when its key may not open it.
std::optional<Bytes> matching_key(ByteSource& der, const std::vector<std::shared_ptr<Decrypter>>& keys);

}  // namespace ssm::smime::cms
