// Streaming AES-CBC/GCM content encryption over gnutls_cipher_*, ChaCha20-Poly1305 over
// nettle; see content_cipher.h. GnuTLS's cipher handles keep CBC chaining and GCM counter
// state across calls, and nettle's ChaCha20 its block counter, provided every call but the
// last passes whole blocks (m_block), which the chunking below guarantees.
#include "smime/cms/content_cipher.h"

#include <algorithm>
#include <cstring>

#include "base/error.h"
#include "smime/cms/asn1.h"
#include "smime/cms/der_length.h"
#include "smime/cms/oids.h"

namespace ssm::smime::cms {
namespace {

gnutls_cipher_algorithm_t gnutls_algorithm(ContentCipher c)
{
    switch (c) {
    case ContentCipher::Aes128Cbc: return GNUTLS_CIPHER_AES_128_CBC;
    case ContentCipher::Aes256Cbc: return GNUTLS_CIPHER_AES_256_CBC;
    case ContentCipher::Aes128Gcm: return GNUTLS_CIPHER_AES_128_GCM;
    case ContentCipher::Aes256Gcm: return GNUTLS_CIPHER_AES_256_GCM;
    case ContentCipher::ChaCha20Poly1305: break;  // nettle, not a GnuTLS handle
    }
    throw Error(Failure::Internal, "not a GnuTLS content cipher");
}

}  // namespace

void random_key_bytes(std::uint8_t* out, std::size_t n)
{
    if (gnutls_rnd(GNUTLS_RND_KEY, out, n) < 0)
        throw Error(Failure::Internal, "random generator failed (key)");
}

void random_bytes(std::uint8_t* out, std::size_t n)
{
    if (gnutls_rnd(GNUTLS_RND_RANDOM, out, n) < 0)
        throw Error(Failure::Internal, "random generator failed");
}

bool is_aead(ContentCipher c)
{
    return c == ContentCipher::Aes128Gcm || c == ContentCipher::Aes256Gcm || c == ContentCipher::ChaCha20Poly1305;
}

std::size_t content_key_size(ContentCipher c)
{
    return c == ContentCipher::Aes128Cbc || c == ContentCipher::Aes128Gcm ? 16 : 32;
}

std::size_t iv_size(ContentCipher c)
{
    return is_aead(c) ? kGcmNonceSize : kAesBlock;
}

const char* content_cipher_oid(ContentCipher c)
{
    switch (c) {
    case ContentCipher::Aes128Cbc: return oid::kAes128Cbc;
    case ContentCipher::Aes256Cbc: return oid::kAes256Cbc;
    case ContentCipher::Aes128Gcm: return oid::kAes128Gcm;
    case ContentCipher::Aes256Gcm: return oid::kAes256Gcm;
    case ContentCipher::ChaCha20Poly1305: return oid::kChaCha20Poly1305;
    }
    throw Error(Failure::Internal, "unknown content cipher");
}

std::uint64_t encrypted_length(ContentCipher c, std::uint64_t n)
{
    if (is_aead(c)) return n;
    return checked_add(n - n % kAesBlock, kAesBlock);  // padding adds 1..16 octets
}

AlgorithmId content_encryption_algorithm_id(ContentCipher c, ByteView iv)
{
    if (iv.size() != iv_size(c)) throw Error(Failure::Internal, "IV of the wrong size");
    if (!is_aead(c)) {
        auto p = Asn1Node::create("AES-IV");
        p.write_bytes("", iv);
        return {content_cipher_oid(c), p.encode()};
    }
    if (c == ContentCipher::ChaCha20Poly1305) {  // RFC 8103 §3
        auto p = Asn1Node::create("AEADChaCha20Poly1305Nonce");
        p.write_bytes("", iv);
        return {content_cipher_oid(c), p.encode()};
    }
    auto p = Asn1Node::create("GCMParameters");
    p.write_bytes("aes-nonce", iv);
    p.write_uint("aes-ICVlen", kGcmTagSize);
    return {content_cipher_oid(c), p.encode()};
}

ContentEncryptor::ContentEncryptor(ContentCipher cipher, const SecretBytes& key, ByteView iv,
                                   std::uint64_t plaintext_length, ByteSink& out)
    : m_cipher(cipher), m_block(cipher == ContentCipher::ChaCha20Poly1305 ? ChaChaPoly1305::kBlock : kAesBlock),
      m_out(out), m_remaining(plaintext_length), m_in(m_block), m_enc(kChunk)
{
    if (key.size() != content_key_size(cipher) || iv.size() != iv_size(cipher))
        throw Error(Failure::Internal, "content key or IV of the wrong size");
    if (cipher == ContentCipher::ChaCha20Poly1305) {
        m_chacha = std::make_unique<ChaChaPoly1305>(key.view(), iv);
        return;
    }
    gnutls_datum_t k{const_cast<std::uint8_t*>(key.data()), unsigned(key.size())};
    gnutls_datum_t v{const_cast<std::uint8_t*>(iv.data()), unsigned(iv.size())};
    const int rc = gnutls_cipher_init(&m_handle, gnutls_algorithm(cipher), &k, &v);
    if (rc < 0)
        throw Error(Failure::Internal, std::string("gnutls_cipher_init: ") + gnutls_strerror(rc));
}

ContentEncryptor::~ContentEncryptor()
{
    if (m_handle) gnutls_cipher_deinit(m_handle);  // GnuTLS wipes the key schedule
}

void ContentEncryptor::encrypt_out(const std::uint8_t* in, std::size_t n)
{
    if (n == 0) return;
    if (m_chacha) {
        m_chacha->encrypt(in, n, m_enc.data());
        m_out.write(ByteView(m_enc.data(), n));
        return;
    }
    const int rc = gnutls_cipher_encrypt2(m_handle, in, n, m_enc.data(), n);
    if (rc < 0)
        throw Error(Failure::Internal, std::string("content encryption: ") + gnutls_strerror(rc));
    m_out.write(ByteView(m_enc.data(), n));
}

void ContentEncryptor::write(ByteView data)
{
    if (m_finished) throw Error(Failure::Internal, "plaintext written after finish()");
    if (data.size() > m_remaining)
        throw Error(Failure::Internal, "more plaintext than the announced content length");
    m_remaining -= data.size();
    while (!data.empty()) {
        if (m_fill == 0 && data.size() >= m_block) {
            // Whole blocks go from the caller's buffer straight to the cipher (no copy);
            // a partial block waits in m_in for the next write.
            const std::size_t n = std::min(kChunk, data.size() - data.size() % m_block);
            encrypt_out(data.data(), n);
            data = data.subspan(n);
            continue;
        }
        // Less than a block pending: complete it (then it goes out and the rest can go
        // direct), or keep what there is when the write ends first.
        const std::size_t take = std::min(data.size(), m_block - m_fill);
        std::memcpy(m_in.data() + m_fill, data.data(), take);
        m_fill += take;
        data = data.subspan(take);
        if (m_fill == m_block) {
            encrypt_out(m_in.data(), m_block);
            m_fill = 0;
        }
    }
}

Bytes ContentEncryptor::finish()
{
    if (m_finished) throw Error(Failure::Internal, "finish() called twice");
    if (m_remaining != 0)
        throw Error(Failure::Internal, "content shorter than announced: " +
                                           std::to_string(m_remaining) + " octets missing");
    m_finished = true;
    if (!is_aead(m_cipher)) {
        // PKCS#7 padding (RFC 5652 §6.3): 1..16 octets, each holding the pad length.
        const std::size_t pad = kAesBlock - m_fill % kAesBlock;
        std::memset(m_in.data() + m_fill, int(pad), pad);
        encrypt_out(m_in.data(), m_fill + pad);
        m_fill = 0;
        return {};
    }
    encrypt_out(m_in.data(), m_fill);  // the AEADs: the last call may be a partial block
    m_fill = 0;
    if (m_chacha) return m_chacha->tag();
    Bytes tag(kGcmTagSize);
    const int rc = gnutls_cipher_tag(m_handle, tag.data(), tag.size());
    if (rc < 0) throw Error(Failure::Internal, std::string("GCM tag: ") + gnutls_strerror(rc));
    return tag;
}

}  // namespace ssm::smime::cms
