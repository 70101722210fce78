// EMSA-PSS verification with a separate mask hash; see rsa_pss.h. Nettle 3.8 verifies PSS
// only with MGF1 over the message hash (rsa_pss_sha*_verify_digest, pss_verify_mgf1 take one
// hash for both), so the encoding is checked here step by step after RFC 8017 §9.1.2, with
// nettle's pss_mgf1 for the mask and GMP for the public-key operation. A verification handles
// public values only, so nothing here needs to run in constant time.
#include "base/rsa_pss.h"

#include <gmp.h>
#include <nettle/bignum.h>
#include <nettle/nettle-meta.h>
#include <nettle/pss-mgf1.h>
#include <nettle/sha1.h>
#include <nettle/sha2.h>

#include <algorithm>
#include <array>
#include <vector>

#include "base/mpz.h"

namespace ssm {
namespace {

const nettle_hash* nettle_hash_of(gnutls_digest_algorithm_t d)
{
    switch (d) {
    case GNUTLS_DIG_SHA1: return &nettle_sha1;
    case GNUTLS_DIG_SHA256: return &nettle_sha256;
    case GNUTLS_DIG_SHA384: return &nettle_sha384;
    case GNUTLS_DIG_SHA512: return &nettle_sha512;
    default: return nullptr;
    }
}

// Room for the state of any hash nettle_hash_of returns.
union HashState {
    sha1_ctx sha1;
    sha256_ctx sha256;
    sha512_ctx sha512;
};

}  // namespace

bool rsa_pss_verify_with_mask_hash(const rsa_public_key& key, const mpz_t signature,
                                   gnutls_digest_algorithm_t message_hash, gnutls_digest_algorithm_t mask_hash,
                                   std::size_t salt_length, ByteView digest)
{
    const nettle_hash* hash = nettle_hash_of(message_hash);
    const nettle_hash* mgf_hash = nettle_hash_of(mask_hash);
    if (!hash || !mgf_hash || digest.size() != hash->digest_size) return false;
    // RSAVP1 (RFC 8017 §5.2.2): the representative must lie in [0, n-1].
    if (mpz_sgn(signature) < 0 || mpz_cmp(signature, key.n) >= 0) return false;
    Mpz m;
    mpz_powm(m.v, signature, key.e, key.n);

    // §9.1.2 with emBits = modBits - 1. Step 6 (the bits above emBits are zero) is the
    // representative's size; it also makes the octet string below fit in emLen octets.
    const std::size_t em_bits = mpz_sizeinbase(key.n, 2) - 1;
    const std::size_t em_len = (em_bits + 7) / 8;
    const std::size_t h_len = hash->digest_size;
    if (em_len < h_len + salt_length + 2) return false;  // step 3 (salt_length is at most 4096)
    if (mpz_sizeinbase(m.v, 2) > em_bits) return false;
    std::vector<std::uint8_t> em(em_len);
    nettle_mpz_get_str_256(em_len, em.data(), m.v);
    if (em.back() != 0xbc) return false;  // step 4

    // Steps 5, 7-8: DB = maskedDB XOR MGF1(H, emLen - hLen - 1), top bits cleared.
    const std::size_t db_len = em_len - h_len - 1;
    const std::uint8_t* h = em.data() + db_len;
    std::vector<std::uint8_t> db(db_len);
    HashState state;
    mgf_hash->init(&state);
    mgf_hash->update(&state, h_len, h);
    pss_mgf1(&state, mgf_hash, db_len, db.data());
    for (std::size_t i = 0; i < db_len; ++i) db[i] ^= em[i];
    db[0] &= std::uint8_t(0xff >> (8 * em_len - em_bits));

    // Step 10: DB = PS (zeros) || 0x01 || salt.
    const std::size_t ps_len = db_len - salt_length - 1;
    if (!std::all_of(db.begin(), db.begin() + std::ptrdiff_t(ps_len), [](std::uint8_t b) { return b == 0; }))
        return false;
    if (db[ps_len] != 0x01) return false;

    // Steps 12-14: H' = Hash(0^64 || mHash || salt) must equal H.
    static constexpr std::array<std::uint8_t, 8> kZeros{};
    std::array<std::uint8_t, SHA512_DIGEST_SIZE> h_again{};
    hash->init(&state);
    hash->update(&state, kZeros.size(), kZeros.data());
    hash->update(&state, h_len, digest.data());
    hash->update(&state, salt_length, db.data() + (db_len - salt_length));
    hash->digest(&state, h_len, h_again.data());
    return std::equal(h_again.begin(), h_again.begin() + std::ptrdiff_t(h_len), h);
}

}  // namespace ssm
