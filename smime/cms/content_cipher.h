// Content encryption of EnvelopedData (AES-CBC, RFC 3565) and AuthEnvelopedData (AES-GCM,
// RFC 5084; ChaCha20-Poly1305, RFC 8103) as a streaming sink: plaintext in, ciphertext out in
// bounded chunks. GnuTLS does the AES (its AES-NI/PCLMUL code), nettle ChaCha20-Poly1305 (see
// chacha_poly1305.h); we add PKCS#7 padding for CBC. Input is the message body we are sending
// (trusted as to size: the caller announced it).
#pragma once
#include <gnutls/crypto.h>

#include <cstddef>
#include <cstdint>
#include <memory>

#include "base/bytes.h"
#include "base/stream.h"
#include "smime/cms/algorithm_ids.h"
#include "smime/cms/chacha_poly1305.h"
#include "smime/cms/secret_bytes.h"

namespace ssm::smime::cms {

enum class ContentCipher { Aes128Cbc, Aes256Cbc, Aes128Gcm, Aes256Gcm, ChaCha20Poly1305 };

constexpr std::size_t kGcmNonceSize = 12;  // RFC 5084 §3.2: 12 octets RECOMMENDED
constexpr std::size_t kGcmTagSize = 16;    // the ICVlen we write (RFC 5084 allows 12..16)
constexpr std::size_t kAesBlock = 16;
// The mac of every AuthEnvelopedData we write: GCM's ICVlen above, ChaCha20-Poly1305's only size.
constexpr std::size_t kAeadTagSize = 16;
static_assert(kGcmTagSize == kAeadTagSize && ChaChaPoly1305::kTagSize == kAeadTagSize);

bool is_aead(ContentCipher c);                  // GCM and ChaCha20-Poly1305
std::size_t content_key_size(ContentCipher c);  // 16 or 32
std::size_t iv_size(ContentCipher c);           // 16 (CBC IV) or 12 (GCM, ChaCha20 nonce)
const char* content_cipher_oid(ContentCipher c);
// Length of encryptedContent for `plaintext_length` octets: CBC always pads, so
// (n/16+1)*16; the AEADs n (the tag travels in `mac`). MessageTooLarge on overflow.
std::uint64_t encrypted_length(ContentCipher c, std::uint64_t plaintext_length);
// contentEncryptionAlgorithm: CBC with the IV as AES-IV, GCM with GCMParameters
// { nonce, ICVlen 16 }, ChaCha20-Poly1305 with the nonce as AEADChaCha20Poly1305Nonce.
AlgorithmId content_encryption_algorithm_id(ContentCipher c, ByteView iv);

// Encrypts exactly `plaintext_length` octets written to it into `out`; finish() flushes the
// last block (with padding for CBC) and returns the AEAD tag (empty for CBC). Writing more
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

    // 64 KiB: large enough that per-call overhead vanishes, small enough for bounded memory;
    // a multiple of every m_block.
    static constexpr std::size_t kChunk = 64 * 1024;
    ContentCipher m_cipher;
    // Every call but the last passes a multiple of this: the AES block, or ChaCha20-Poly1305's
    // 64 octets (nettle's rule).
    std::size_t m_block;
    gnutls_cipher_hd_t m_handle = nullptr;
    std::unique_ptr<ChaChaPoly1305> m_chacha;  // ChaCha20-Poly1305 instead of m_handle
    ByteSink& m_out;
    std::uint64_t m_remaining;
    Bytes m_in;   // pending plaintext: less than one block between writes (padded at the end)
    Bytes m_enc;  // ciphertext staging, kChunk
    std::size_t m_fill = 0;
    bool m_finished = false;
};

}  // namespace ssm::smime::cms
