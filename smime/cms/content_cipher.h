// Content encryption of EnvelopedData (AES-CBC, RFC 3565) and AuthEnvelopedData (AES-GCM,
// RFC 5084) as a streaming sink: plaintext in, ciphertext out in bounded chunks. GnuTLS does
// the AES (its AES-NI/PCLMUL code); we add PKCS#7 padding for CBC. Input is the message body
// we are sending (trusted as to size: the caller announced it).
#pragma once
#include <gnutls/crypto.h>

#include <cstddef>
#include <cstdint>

#include "base/bytes.h"
#include "base/stream.h"
#include "smime/cms/algorithm_ids.h"
#include "smime/cms/secret_bytes.h"

namespace ssm::smime::cms {

enum class ContentCipher { Aes128Cbc, Aes256Cbc, Aes128Gcm, Aes256Gcm };

constexpr std::size_t kGcmNonceSize = 12;  // RFC 5084 §3.2: 12 octets RECOMMENDED
constexpr std::size_t kGcmTagSize = 16;    // the ICVlen we write (RFC 5084 allows 12..16)
constexpr std::size_t kAesBlock = 16;

bool is_aead(ContentCipher c);
std::size_t content_key_size(ContentCipher c);  // 16 or 32
std::size_t iv_size(ContentCipher c);           // 16 (CBC IV) or 12 (GCM nonce)
const char* content_cipher_oid(ContentCipher c);
// Length of encryptedContent for `plaintext_length` octets: CBC always pads, so
// (n/16+1)*16; GCM n (the tag travels in `mac`). MessageTooLarge on overflow.
std::uint64_t encrypted_length(ContentCipher c, std::uint64_t plaintext_length);
// contentEncryptionAlgorithm: CBC with the IV as AES-IV, GCM with GCMParameters
// { nonce, ICVlen 16 }.
AlgorithmId content_encryption_algorithm_id(ContentCipher c, ByteView iv);

// Encrypts exactly `plaintext_length` octets written to it into `out`; finish() flushes the
// last block (with padding for CBC) and returns the GCM tag (empty for CBC). Writing more
// than announced, or finishing with fewer, is a caller bug: Error(Internal). Whole blocks
// are encrypted straight from the caller's buffer, in calls of up to kChunk octets.
class ContentEncryptor final : public ByteSink {
public:
    ContentEncryptor(ContentCipher cipher, const SecretBytes& key, ByteView iv,
                     std::uint64_t plaintext_length, ByteSink& out);
    ~ContentEncryptor() override;
    ContentEncryptor(const ContentEncryptor&) = delete;
    ContentEncryptor& operator=(const ContentEncryptor&) = delete;

    using ByteSink::write;
    void write(ByteView data) override;
    Bytes finish();

private:
    void encrypt_out(const std::uint8_t* in, std::size_t n);

    // 64 KiB: large enough that per-call overhead vanishes, small enough for bounded memory.
    static constexpr std::size_t kChunk = 64 * 1024;
    ContentCipher m_cipher;
    gnutls_cipher_hd_t m_handle = nullptr;
    ByteSink& m_out;
    std::uint64_t m_remaining;
    Bytes m_in;   // pending plaintext: less than one block between writes (padded at the end)
    Bytes m_enc;  // ciphertext staging, kChunk
    std::size_t m_fill = 0;
    bool m_finished = false;
};

}  // namespace ssm::smime::cms
