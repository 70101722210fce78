// ECDH/X25519 key agreement, X9.63 and HKDF key derivation, AES key wrap; see
// key_agreement.h. The recipient's key comes from an untrusted certificate: EC points go
// through ecc_point_set (on-curve check, base/nettle_ecc.h), X25519 results are checked for the zero secret.
#include "smime/cms/key_agreement.h"

#include <gnutls/crypto.h>
#include <nettle/aes.h>
#include <nettle/curve25519.h>
#include <nettle/ecc-curve.h>
#include <nettle/hkdf.h>
#include <nettle/hmac.h>
#include <nettle/nist-keywrap.h>
#include <nettle/sha2.h>

#include <algorithm>

#include "base/error.h"
#include "base/nettle_ecc.h"
#include "smime/cms/asn1.h"
#include "smime/cms/digest.h"
#include "smime/cms/oids.h"

namespace ssm::smime::cms {
namespace {

// RFC 3394 §2.2.3.1: the default initial value of AES key wrap.
constexpr std::uint8_t kKeyWrapDefaultIv[8] = {0xA6, 0xA6, 0xA6, 0xA6, 0xA6, 0xA6, 0xA6, 0xA6};

// What ECDH on one NIST curve uses (RFC 5753 §8 and RFC 8551 §2.7.1.2: the KDF hash grows
// with the curve; the wrap follows the content key, see key_wrap_oid).
struct EcdhCurve {
    const ecc_curve* curve;
    std::size_t size;  // octets of a field element: coordinates and Z
    DigestAlgorithm kdf_hash;
    const char* scheme;  // dhSinglePass-stdDH-sha*kdf-scheme
};

EcdhCurve ecdh_curve(RecipientKeyType type)
{
    switch (type) {
    case RecipientKeyType::EcP256: return {nettle_get_secp_256r1(), 32, DigestAlgorithm::Sha256, oid::kEcdhStdSha256Kdf};
    case RecipientKeyType::EcP384: return {nettle_get_secp_384r1(), 48, DigestAlgorithm::Sha384, oid::kEcdhStdSha384Kdf};
    case RecipientKeyType::EcP521: return {nettle_get_secp_521r1(), 66, DigestAlgorithm::Sha512, oid::kEcdhStdSha512Kdf};
    case RecipientKeyType::Rsa:
    case RecipientKeyType::X25519: break;
    }
    throw Error(Failure::Internal, "key agreement needs an EC or X25519 key");
}

// Ephemeral ECDH: returns Z (the x-coordinate of the shared point) and sets the ephemeral
// public key 04||X||Y.
SecretBytes ecdh(const RecipientKey& r, const EcdhCurve& c, Bytes& ephemeral_public)
{
    if (r.ec_x.size() != c.size || r.ec_y.size() != c.size)
        throw Error(Failure::Internal, "EC coordinates of the wrong size");
    SecretBytes z(c.size);
    if (!ephemeral_ecdh(c.curve, c.size, r.ec_x, r.ec_y, z.data(), ephemeral_public))
        throw Error(Failure::PolicyViolation,
                    "unusable recipient certificate: EC public key is not a point on its curve");
    return z;
}

SecretBytes x25519(const RecipientKey& r, Bytes& ephemeral_public)
{
    if (r.ec_x.size() != CURVE25519_SIZE) throw Error(Failure::Internal, "X25519 key of the wrong size");
    SecretBytes eph(CURVE25519_SIZE);
    random_key_bytes(eph.data(), eph.size());
    ephemeral_public.assign(CURVE25519_SIZE, 0);
    curve25519_mul_g(ephemeral_public.data(), eph.data());  // nettle clamps the scalar
    SecretBytes z(CURVE25519_SIZE);
    curve25519_mul(z.data(), eph.data(), r.ec_x.data());
    // RFC 7748 §6.1: a low-order public key gives the all-zero secret; refuse it.
    std::uint8_t any = 0;
    for (std::size_t i = 0; i < z.size(); ++i) any |= z.data()[i];
    if (any == 0)
        throw Error(Failure::PolicyViolation, "unusable recipient certificate: X25519 key of low order");
    return z;
}

AlgorithmId wrap_in_scheme(const char* scheme, const char* wrap)
{
    // KeyWrapAlgorithm as the scheme's parameters; AES wrap has absent parameters (RFC 3565 §2.3.2).
    return {scheme, encode_algorithm_id({wrap, std::nullopt})};
}

}  // namespace

const char* key_wrap_oid(std::size_t kek_size)
{
    if (kek_size == 16) return oid::kAes128Wrap;
    if (kek_size == 32) return oid::kAes256Wrap;
    throw Error(Failure::Internal, "no AES key wrap for this key size");
}

Bytes ecc_cms_shared_info(std::string_view wrap_oid, std::size_t kek_size)
{
    auto s = Asn1Node::create("ECC-CMS-SharedInfo");
    write_algorithm_id(s, "keyInfo", {std::string(wrap_oid), std::nullopt});
    s.remove("entityUInfo");  // no ukm
    const std::uint32_t bits = std::uint32_t(kek_size * 8);
    const Bytes supp = {std::uint8_t(bits >> 24), std::uint8_t(bits >> 16), std::uint8_t(bits >> 8),
                        std::uint8_t(bits)};
    s.write_bytes("suppPubInfo", supp);
    return s.encode();
}

SecretBytes x963_kdf(DigestAlgorithm hash, ByteView z, ByteView shared_info, std::size_t length)
{
    SecretBytes out(length);
    std::size_t done = 0;
    for (std::uint32_t counter = 1; done < length; ++counter) {
        Hasher h(hash);
        h.write(z);
        const std::uint8_t c[4] = {std::uint8_t(counter >> 24), std::uint8_t(counter >> 16),
                                   std::uint8_t(counter >> 8), std::uint8_t(counter)};
        h.write(ByteView(c, 4));
        h.write(shared_info);
        Bytes block = h.finish();
        const std::size_t take = std::min(block.size(), length - done);
        std::copy(block.begin(), block.begin() + std::ptrdiff_t(take), out.data() + done);
        done += take;
        secure_wipe(block.data(), block.size());
    }
    return out;
}

SecretBytes hkdf_sha256(ByteView ikm, ByteView info, std::size_t length)
{
    if (length > 255 * SHA256_DIGEST_SIZE) throw Error(Failure::Internal, "HKDF output too long");
    struct hmac_sha256_ctx ctx;
    const std::uint8_t no_salt[SHA256_DIGEST_SIZE] = {};  // RFC 5869 §2.2: HashLen zeros
    SecretBytes prk(SHA256_DIGEST_SIZE);
    hmac_sha256_set_key(&ctx, sizeof no_salt, no_salt);
    hkdf_extract(&ctx, reinterpret_cast<nettle_hash_update_func*>(hmac_sha256_update),
                 reinterpret_cast<nettle_hash_digest_func*>(hmac_sha256_digest), SHA256_DIGEST_SIZE,
                 ikm.size(), ikm.data(), prk.data());
    SecretBytes out(length);
    hmac_sha256_set_key(&ctx, prk.size(), prk.data());
    hkdf_expand(&ctx, reinterpret_cast<nettle_hash_update_func*>(hmac_sha256_update),
                reinterpret_cast<nettle_hash_digest_func*>(hmac_sha256_digest), SHA256_DIGEST_SIZE,
                info.size(), info.data(), length, out.data());
    secure_wipe(&ctx, sizeof ctx);
    return out;
}

Bytes aes_key_wrap(const SecretBytes& kek, const SecretBytes& key)
{
    if (key.size() < 16 || key.size() % 8 != 0) throw Error(Failure::Internal, "key to wrap of a bad size");
    Bytes out(key.size() + 8);
    if (kek.size() == 16) {
        struct aes128_ctx a;
        aes128_set_encrypt_key(&a, kek.data());
        aes128_keywrap(&a, kKeyWrapDefaultIv, out.size(), out.data(), key.data());
        secure_wipe(&a, sizeof a);
    } else if (kek.size() == 32) {
        struct aes256_ctx a;
        aes256_set_encrypt_key(&a, kek.data());
        aes256_keywrap(&a, kKeyWrapDefaultIv, out.size(), out.data(), key.data());
        secure_wipe(&a, sizeof a);
    } else {
        throw Error(Failure::Internal, "KEK of a bad size");
    }
    return out;
}

bool aes_key_unwrap(const SecretBytes& kek, ByteView wrapped, SecretBytes& out)
{
    if (wrapped.size() != out.size() + 8) throw Error(Failure::Internal, "unwrapped key of a bad size");
    int ok = 0;
    if (kek.size() == 16) {
        struct aes128_ctx a;
        aes128_set_decrypt_key(&a, kek.data());
        ok = aes128_keyunwrap(&a, kKeyWrapDefaultIv, out.size(), out.data(), wrapped.data());
        secure_wipe(&a, sizeof a);
    } else if (kek.size() == 24) {
        struct aes192_ctx a;
        aes192_set_decrypt_key(&a, kek.data());
        ok = aes192_keyunwrap(&a, kKeyWrapDefaultIv, out.size(), out.data(), wrapped.data());
        secure_wipe(&a, sizeof a);
    } else if (kek.size() == 32) {
        struct aes256_ctx a;
        aes256_set_decrypt_key(&a, kek.data());
        ok = aes256_keyunwrap(&a, kKeyWrapDefaultIv, out.size(), out.data(), wrapped.data());
        secure_wipe(&a, sizeof a);
    } else {
        throw Error(Failure::Internal, "KEK of a bad size");
    }
    return ok == 1;
}

std::optional<Bytes> aes_key_unwrap(const SecretBytes& kek, ByteView wrapped)
{
    if (wrapped.size() < 24 || wrapped.size() % 8 != 0) return std::nullopt;
    SecretBytes out(wrapped.size() - 8);
    if (!aes_key_unwrap(kek, wrapped, out)) return std::nullopt;
    return Bytes(out.view().begin(), out.view().end());
}

KeyAgreement agree_and_wrap(const RecipientKey& r, const SecretBytes& cek)
{
    KeyAgreement ka;
    const char* wrap = key_wrap_oid(cek.size());
    const Bytes shared_info = ecc_cms_shared_info(wrap, cek.size());
    if (r.type == RecipientKeyType::X25519) {
        const SecretBytes z = x25519(r, ka.originator_public_key);
        const SecretBytes kek = hkdf_sha256(z.view(), shared_info, cek.size());
        ka.originator_algorithm = {oid::kX25519, std::nullopt};  // RFC 8410 §3: absent
        ka.key_encryption_algorithm = wrap_in_scheme(oid::kEcdhStdHkdfSha256, wrap);
        ka.encrypted_key = aes_key_wrap(kek, cek);
        return ka;
    }
    const EcdhCurve curve = ecdh_curve(r.type);
    const SecretBytes z = ecdh(r, curve, ka.originator_public_key);
    const SecretBytes kek = x963_kdf(curve.kdf_hash, z.view(), shared_info, cek.size());
    // RFC 5753 §7.1.2: parameters of id-ecPublicKey in originatorKey SHOULD be absent.
    ka.originator_algorithm = {oid::kEcPublicKey, std::nullopt};
    ka.key_encryption_algorithm = wrap_in_scheme(curve.scheme, wrap);
    ka.encrypted_key = aes_key_wrap(kek, cek);
    return ka;
}

}  // namespace ssm::smime::cms
