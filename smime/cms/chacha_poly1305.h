// ChaCha20-Poly1305 (RFC 8439 AEAD, 96-bit nonce) for AuthEnvelopedData (RFC 8103), over
// nettle's incremental chacha_poly1305_*: the content passes through in pieces and the tag
// comes at the end, so large messages stream. Inputs are a content key we hold and a nonce
// from the message (its size checked here); the content may be hostile, this only ciphers it.
#pragma once
#include <nettle/chacha-poly1305.h>

#include <cstddef>
#include <cstdint>

#include "base/bytes.h"

namespace ssm::smime::cms {

class ChaChaPoly1305 final {
public:
    static constexpr std::size_t kKeySize = CHACHA_POLY1305_KEY_SIZE;      // 32
    static constexpr std::size_t kNonceSize = CHACHA_POLY1305_NONCE_SIZE;  // 12 (RFC 8103 §3)
    static constexpr std::size_t kTagSize = CHACHA_POLY1305_DIGEST_SIZE;   // 16 (RFC 8103 §3)
    // nettle's rule: every encrypt/decrypt call but the last passes a multiple of this.
    static constexpr std::size_t kBlock = CHACHA_POLY1305_BLOCK_SIZE;      // 64

    // Error(Internal) when the key or nonce has the wrong size (callers check the nonce
    // of a message before).
    ChaChaPoly1305(ByteView key, ByteView nonce);
    ~ChaChaPoly1305();  // wipes the ChaCha state and the Poly1305 key
    ChaChaPoly1305(const ChaChaPoly1305&) = delete;
    ChaChaPoly1305& operator=(const ChaChaPoly1305&) = delete;

    // Additional authenticated data (AuthEnvelopedData authAttrs); only before any content.
    void authenticate(ByteView aad);
    // n octets from `in` to `out` (may be the same buffer). A call after one whose length
    // was not a multiple of kBlock is a caller bug: Error(Internal), never nettle's assert.
    void encrypt(const std::uint8_t* in, std::size_t n, std::uint8_t* out);
    void decrypt(const std::uint8_t* in, std::size_t n, std::uint8_t* out);
    // The 16-octet tag over the AAD and the ciphertext; once, after the content.
    Bytes tag();

private:
    void before_content(std::size_t n);

    chacha_poly1305_ctx m_ctx;
    bool m_content = false;  // content has been passed
    bool m_partial = false;  // the last content call was not a multiple of kBlock
    bool m_done = false;     // tag() was called
};

}  // namespace ssm::smime::cms
