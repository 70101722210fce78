// Content decryption for received EnvelopedData (AES-128/192/256-CBC, RFC 3565; 3DES-CBC,
// RFC 3370 §5.1, for legacy peers) and AuthEnvelopedData (AES-GCM, RFC 5084;
// ChaCha20-Poly1305, RFC 8103) as a streaming sink: ciphertext in, plaintext out. The
// algorithm parameters are untrusted and checked here; the CBC padding and the AEAD tag are
// checked at the end and reported as one bool.
#pragma once
#include <gnutls/crypto.h>

#include <memory>
#include <optional>
#include <string>

#include "base/bytes.h"
#include "base/stream.h"
#include "smime/cms/algorithm_ids.h"
#include "smime/cms/chacha_poly1305.h"
#include "smime/cms/content_cipher.h"
#include "smime/cms/secret_bytes.h"

namespace ssm::smime::cms {

struct ContentAlgorithm {
    std::string name;  // "aes256-cbc", "des-ede3-cbc", "aes128-gcm", "chacha20-poly1305", ...
    std::optional<ContentCipher> cipher;  // when it is one we also encrypt with
    // GNUTLS_CIPHER_CHACHA20_POLY1305 names ChaCha20-Poly1305, which nettle deciphers (see
    // ContentDecryptor); every other one is a GnuTLS cipher handle.
    gnutls_cipher_algorithm_t gnutls = GNUTLS_CIPHER_UNKNOWN;
    std::size_t key_size = 0;
    std::size_t block = 16;  // CBC block (8 for 3DES); 16 for GCM; 64 for ChaCha20-Poly1305
    bool aead = false;
    Bytes iv;                // CBC IV, GCM or ChaCha20-Poly1305 nonce
    std::size_t tag_size = 0;  // GCM ICVlen (12..16); 16 for ChaCha20-Poly1305
};

// nullopt when the algorithm or its parameters are not ones we decrypt; then `why` (if given)
// says which parameter of a known algorithm is outside what we decrypt (empty: the algorithm).
std::optional<ContentAlgorithm> content_algorithm_of(const AlgorithmId& id, std::string* why = nullptr);

class ContentDecryptor final : public ByteSink {
public:
    // `aad`: the AEAD's additional authenticated data (AuthEnvelopedData authAttrs), empty if none.
    ContentDecryptor(const ContentAlgorithm& alg, const SecretBytes& key, ByteSink& out, ByteView aad = {});
    ~ContentDecryptor() override;
    ContentDecryptor(const ContentDecryptor&) = delete;
    ContentDecryptor& operator=(const ContentDecryptor&) = delete;

    using ByteSink::write;
    void write(ByteView ciphertext) override;
    // Decrypts what is left. CBC: true when the length is a whole number of blocks and the
    // padding is valid (only then is the last block, unpadded, written). GCM and
    // ChaCha20-Poly1305: true when `mac` is the tag. Checked in constant time; call once.
    bool finish(ByteView mac);

private:
    void decrypt_out(std::size_t n);

    static constexpr std::size_t kChunk = 64 * 1024;
    ContentAlgorithm m_alg;
    gnutls_cipher_hd_t m_handle = nullptr;
    // ChaCha20-Poly1305 through nettle's incremental interface: the chunks below (kChunk, a
    // multiple of its 64-octet block, then the rest once) keep its call rules.
    std::unique_ptr<ChaChaPoly1305> m_chacha;
    ByteSink& m_out;
    Bytes m_in;    // pending ciphertext
    Bytes m_plain; // plaintext staging
    std::size_t m_fill = 0;
};

}  // namespace ssm::smime::cms
