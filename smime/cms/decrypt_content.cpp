// Streaming content decryption over gnutls_cipher_* (nettle for ChaCha20-Poly1305); see
// decrypt_content.h. The ciphertext and its parameters are attacker-controlled; the key may
// be a random one (RFC 3218), so a failed padding or tag check must look like any other
// failure: checks are constant time and their result is only reported, never acted on here.
#include "smime/cms/decrypt_content.h"

#include <nettle/memops.h>

#include <algorithm>
#include <cstring>

#include "base/error.h"
#include "smime/cms/asn1.h"
#include "smime/cms/constant_time.h"
#include "smime/cms/oids.h"

namespace ssm::smime::cms {
namespace {

// Content-encryption OIDs we only read (oids.h holds those we also write).
constexpr const char* kAes192Cbc = "2.16.840.1.101.3.4.1.22";
constexpr const char* kAes192Gcm = "2.16.840.1.101.3.4.1.26";
constexpr const char* kDesEde3Cbc = "1.2.840.113549.3.7";
// RFC 3657 (Camellia in CMS): used by Japanese government and business mail, offered by
// OpenSSL and BouncyCastle; decrypted only, never chosen for outbound mail.
constexpr const char* kCamellia128Cbc = "1.2.392.200011.61.1.1.1.2";
constexpr const char* kCamellia192Cbc = "1.2.392.200011.61.1.1.1.3";
constexpr const char* kCamellia256Cbc = "1.2.392.200011.61.1.1.1.4";

struct Known {
    const char* oid;
    const char* name;
    std::optional<ContentCipher> cipher;
    gnutls_cipher_algorithm_t gnutls;
    std::size_t key_size;
    std::size_t block;
    bool aead;
};

const Known kKnown[] = {
    {oid::kAes128Cbc, "aes128-cbc", ContentCipher::Aes128Cbc, GNUTLS_CIPHER_AES_128_CBC, 16, 16, false},
    {kAes192Cbc, "aes192-cbc", std::nullopt, GNUTLS_CIPHER_AES_192_CBC, 24, 16, false},
    {oid::kAes256Cbc, "aes256-cbc", ContentCipher::Aes256Cbc, GNUTLS_CIPHER_AES_256_CBC, 32, 16, false},
    {kDesEde3Cbc, "des-ede3-cbc", std::nullopt, GNUTLS_CIPHER_3DES_CBC, 24, 8, false},
    {kCamellia128Cbc, "camellia128-cbc", std::nullopt, GNUTLS_CIPHER_CAMELLIA_128_CBC, 16, 16, false},
    {kCamellia192Cbc, "camellia192-cbc", std::nullopt, GNUTLS_CIPHER_CAMELLIA_192_CBC, 24, 16, false},
    {kCamellia256Cbc, "camellia256-cbc", std::nullopt, GNUTLS_CIPHER_CAMELLIA_256_CBC, 32, 16, false},
    {oid::kAes128Gcm, "aes128-gcm", ContentCipher::Aes128Gcm, GNUTLS_CIPHER_AES_128_GCM, 16, 16, true},
    {kAes192Gcm, "aes192-gcm", std::nullopt, GNUTLS_CIPHER_AES_192_GCM, 24, 16, true},
    {oid::kAes256Gcm, "aes256-gcm", ContentCipher::Aes256Gcm, GNUTLS_CIPHER_AES_256_GCM, 32, 16, true},
    {oid::kChaCha20Poly1305, "chacha20-poly1305", ContentCipher::ChaCha20Poly1305, GNUTLS_CIPHER_CHACHA20_POLY1305,
     ChaChaPoly1305::kKeySize, ChaChaPoly1305::kBlock, true},
};

bool is_chacha(const ContentAlgorithm& a)
{
    return a.gnutls == GNUTLS_CIPHER_CHACHA20_POLY1305;
}

// 0xff when a <= b (both < 256), else 0.
std::uint8_t ct_le(std::uint32_t a, std::uint32_t b)
{
    return std::uint8_t(0u - (((b - a) >> 31) ^ 1u));
}

}  // namespace

std::optional<ContentAlgorithm> content_algorithm_of(const AlgorithmId& id, std::string* why)
{
    auto refuse = [why](std::string reason) -> std::optional<ContentAlgorithm> {
        if (why) *why = std::move(reason);
        return std::nullopt;
    };
    const Known* k = nullptr;
    for (const auto& c : kKnown)
        if (id.oid == c.oid) k = &c;
    if (!k) return std::nullopt;
    if (!id.parameters) return refuse("parameters missing");
    ContentAlgorithm a{k->name, k->cipher, k->gnutls, k->key_size, k->block, k->aead, {}, 0};
    try {
        if (!k->aead) {
            // AES-IV (RFC 3565), the 3DES CBCParameter (RFC 3370 §5.1) and CamelliaCBCParameter
            // (RFC 3657 §2.1): an OCTET STRING.
            a.iv = Asn1Node::decode("AES-IV", *id.parameters).read_bytes("");
            if (a.iv.size() != k->block) return refuse("IV of " + std::to_string(a.iv.size()) + " octets");
            return a;
        }
        if (is_chacha(a)) {
            // RFC 8103 §3: AEADChaCha20Poly1305Nonce ::= OCTET STRING (SIZE(12)); the mac is
            // always 16 octets.
            a.iv = Asn1Node::decode("AEADChaCha20Poly1305Nonce", *id.parameters).read_bytes("");
            if (a.iv.size() != ChaChaPoly1305::kNonceSize)
                return refuse("nonce of " + std::to_string(a.iv.size()) + " octets");
            a.tag_size = ChaChaPoly1305::kTagSize;
            return a;
        }
        const auto p = Asn1Node::decode("GCMParameters", *id.parameters);
        a.iv = p.read_bytes("aes-nonce");
        long icv = 12;  // DEFAULT
        if (p.read_optional("aes-ICVlen")) icv = p.read_small_int("aes-ICVlen");
        // GnuTLS's GCM takes 96-bit nonces, the size RFC 5084 recommends and every peer uses.
        if (a.iv.size() != kGcmNonceSize)
            return refuse("GCM nonce of " + std::to_string(a.iv.size()) + " octets (we take 12)");
        if (icv < 12 || icv > 16) return refuse("GCM ICV of " + std::to_string(icv) + " octets (RFC 5084: 12 to 16)");
        a.tag_size = std::size_t(icv);
        return a;
    } catch (const Error&) {
        return refuse("malformed parameters");
    }
}

ContentDecryptor::ContentDecryptor(const ContentAlgorithm& alg, const SecretBytes& key, ByteSink& out, ByteView aad)
    : m_alg(alg), m_out(out), m_in(kChunk + alg.block), m_plain(kChunk + alg.block)
{
    if (key.size() != alg.key_size) throw Error(Failure::Internal, "content key of the wrong size");
    if (is_chacha(alg)) {
        // nettle, not gnutls_cipher_*: chacha_poly1305_* is nettle's documented incremental
        // AEAD interface, with the call rules ChaChaPoly1305 checks.
        m_chacha = std::make_unique<ChaChaPoly1305>(key.view(), m_alg.iv);
        if (!aad.empty()) m_chacha->authenticate(aad);
        return;
    }
    gnutls_datum_t k{const_cast<std::uint8_t*>(key.data()), unsigned(key.size())};
    gnutls_datum_t v{m_alg.iv.data(), unsigned(m_alg.iv.size())};
    const int rc = gnutls_cipher_init(&m_handle, alg.gnutls, &k, &v);
    if (rc < 0)
        throw Error(Failure::PolicyViolation, std::string("cipher ") + alg.name + ": " + gnutls_strerror(rc));
    if (aad.empty()) return;
    const int arc = alg.aead ? gnutls_cipher_add_auth(m_handle, aad.data(), aad.size()) : GNUTLS_E_INVALID_REQUEST;
    if (arc < 0) {  // the destructor does not run for a constructor that throws
        gnutls_cipher_deinit(m_handle);
        m_handle = nullptr;
        throw Error(Failure::Internal, std::string("GCM authenticated data: ") + gnutls_strerror(arc));
    }
}

ContentDecryptor::~ContentDecryptor()
{
    if (m_handle) gnutls_cipher_deinit(m_handle);
}

// Decrypts the first n octets of m_in into m_plain.
void ContentDecryptor::decrypt_out(std::size_t n)
{
    if (n == 0) return;
    if (m_chacha) {
        m_chacha->decrypt(m_in.data(), n, m_plain.data());
        return;
    }
    const int rc = gnutls_cipher_decrypt2(m_handle, m_in.data(), n, m_plain.data(), n);
    if (rc < 0) throw Error(Failure::Internal, std::string("content decryption: ") + gnutls_strerror(rc));
}

void ContentDecryptor::write(ByteView data)
{
    while (!data.empty()) {
        const std::size_t take = std::min(data.size(), m_in.size() - m_fill);
        std::memcpy(m_in.data() + m_fill, data.data(), take);
        m_fill += take;
        data = data.subspan(take);
        if (m_fill == m_in.size()) {
            // Keep the last block back: for CBC it may hold the padding.
            decrypt_out(kChunk);
            m_out.write(ByteView(m_plain.data(), kChunk));
            std::memmove(m_in.data(), m_in.data() + kChunk, m_fill - kChunk);
            m_fill -= kChunk;
        }
    }
}

bool ContentDecryptor::finish(ByteView mac)
{
    if (m_alg.aead) {
        decrypt_out(m_fill);  // the last call may be a partial block
        m_out.write(ByteView(m_plain.data(), m_fill));
        m_fill = 0;
        if (m_chacha) {
            const Bytes tag = m_chacha->tag();
            return mac.size() == tag.size() && memeql_sec(tag.data(), mac.data(), mac.size()) == 1;
        }
        std::uint8_t tag[16];
        const int rc = gnutls_cipher_tag(m_handle, tag, sizeof tag);
        if (rc < 0) throw Error(Failure::Internal, std::string("GCM tag: ") + gnutls_strerror(rc));
        return mac.size() == m_alg.tag_size && memeql_sec(tag, mac.data(), mac.size()) == 1;
    }
    const std::size_t b = m_alg.block;
    if (m_fill < b || m_fill % b != 0) return false;  // truncated: the length is public
    decrypt_out(m_fill);
    const std::size_t body = m_fill - b;
    m_out.write(ByteView(m_plain.data(), body));
    // PKCS#7 padding (RFC 5652 §6.3): pad in 1..b and the last pad octets all equal pad.
    const std::uint8_t* last = m_plain.data() + body;
    const std::uint8_t pad = last[b - 1];
    std::uint8_t good = std::uint8_t(~ct_eq(pad, 0) & ct_le(pad, std::uint32_t(b)));
    for (std::size_t i = 0; i < b; ++i) {
        const std::uint8_t in_pad = ct_le(std::uint32_t(b - i), pad);  // position within the pad
        good &= std::uint8_t(~in_pad | ct_eq(last[i], pad));
    }
    m_fill = 0;
    if (good != 0xff) return false;
    m_out.write(ByteView(last, b - pad));
    return true;
}

}  // namespace ssm::smime::cms
