// Content decryption for received EnvelopedData (AES-128/192/256-CBC, RFC 3565; 3DES-CBC,
// RFC 3370 §5.1, for legacy peers) and AuthEnvelopedData (AES-GCM, RFC 5084) as a streaming
// sink: ciphertext in, plaintext out. The algorithm parameters are untrusted and checked
// here; the CBC padding and the GCM tag are checked at the end and reported as one bool.
#pragma once
#include <gnutls/crypto.h>

#include <optional>
#include <string>

#include "base/bytes.h"
#include "base/stream.h"
#include "smime/cms/algorithm_ids.h"
#include "smime/cms/content_cipher.h"
#include "smime/cms/secret_bytes.h"

namespace ssm::smime::cms {

struct ContentAlgorithm {
    std::string name;  // "aes256-cbc", "des-ede3-cbc", "aes128-gcm", ...
    std::optional<ContentCipher> cipher;  // when it is one we also encrypt with
    gnutls_cipher_algorithm_t gnutls = GNUTLS_CIPHER_UNKNOWN;
    std::size_t key_size = 0;
    std::size_t block = 16;  // CBC block (8 for 3DES); 16 for GCM
    bool aead = false;
    Bytes iv;                // CBC IV or GCM nonce
    std::size_t tag_size = 0;  // GCM ICVlen (12..16)
};

// nullopt when the algorithm or its parameters are not ones we decrypt.
std::optional<ContentAlgorithm> content_algorithm_of(const AlgorithmId& id);

class ContentDecryptor final : public ByteSink {
public:
    // `aad`: GCM's additional authenticated data (AuthEnvelopedData authAttrs), empty if none.
    ContentDecryptor(const ContentAlgorithm& alg, const SecretBytes& key, ByteSink& out, ByteView aad = {});
    ~ContentDecryptor() override;
    ContentDecryptor(const ContentDecryptor&) = delete;
    ContentDecryptor& operator=(const ContentDecryptor&) = delete;

    using ByteSink::write;
    void write(ByteView ciphertext) override;
    // Decrypts what is left. CBC: true when the length is a whole number of blocks and the
    // padding is valid (only then is the last block, unpadded, written). GCM: true when
    // `mac` is the tag. Checked in constant time; call once.
    bool finish(ByteView mac);

private:
    void decrypt_out(std::size_t n);

    static constexpr std::size_t kChunk = 64 * 1024;
    ContentAlgorithm m_alg;
    gnutls_cipher_hd_t m_handle = nullptr;
    ByteSink& m_out;
    Bytes m_in;    // pending ciphertext
    Bytes m_plain; // plaintext staging
    std::size_t m_fill = 0;
};

}  // namespace ssm::smime::cms
