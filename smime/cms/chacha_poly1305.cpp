// nettle chacha_poly1305_* behind a wiping, misuse-checked class; see chacha_poly1305.h.
// nettle asserts on the call-order rules it relies on; they are checked here first so a bug
// of ours ends as Error(Internal) for one message instead of aborting the milter.
#include "smime/cms/chacha_poly1305.h"

#include "base/error.h"
#include "base/secure_buffer.h"

namespace ssm::smime::cms {

ChaChaPoly1305::ChaChaPoly1305(ByteView key, ByteView nonce)
{
    if (key.size() != kKeySize || nonce.size() != kNonceSize)
        throw Error(Failure::Internal, "ChaCha20-Poly1305 key or nonce of the wrong size");
    chacha_poly1305_set_key(&m_ctx, key.data());
    chacha_poly1305_set_nonce(&m_ctx, nonce.data());
}

ChaChaPoly1305::~ChaChaPoly1305()
{
    secure_wipe(&m_ctx, sizeof m_ctx);
}

void ChaChaPoly1305::authenticate(ByteView aad)
{
    if (m_content || m_done) throw Error(Failure::Internal, "ChaCha20-Poly1305 AAD after the content");
    chacha_poly1305_update(&m_ctx, aad.size(), aad.data());
}

void ChaChaPoly1305::before_content(std::size_t n)
{
    if (m_done) throw Error(Failure::Internal, "ChaCha20-Poly1305 content after the tag");
    if (m_partial) throw Error(Failure::Internal, "ChaCha20-Poly1305 content after a partial block");
    m_content = true;
    m_partial = n % kBlock != 0;
}

void ChaChaPoly1305::encrypt(const std::uint8_t* in, std::size_t n, std::uint8_t* out)
{
    if (n == 0) return;
    before_content(n);
    chacha_poly1305_encrypt(&m_ctx, n, out, in);
}

void ChaChaPoly1305::decrypt(const std::uint8_t* in, std::size_t n, std::uint8_t* out)
{
    if (n == 0) return;
    before_content(n);
    chacha_poly1305_decrypt(&m_ctx, n, out, in);
}

Bytes ChaChaPoly1305::tag()
{
    if (m_done) throw Error(Failure::Internal, "ChaCha20-Poly1305 tag taken twice");
    m_done = true;
    Bytes t(kTagSize);
    chacha_poly1305_digest(&m_ctx, t.size(), t.data());
    return t;
}

}  // namespace ssm::smime::cms
