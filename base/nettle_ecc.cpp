// nettle's NIST-curve arithmetic (see nettle_ecc.h).
#include "base/nettle_ecc.h"

#include <gnutls/crypto.h>
#include <nettle/bignum.h>
#include <nettle/ecdsa.h>

#include <algorithm>

#include "base/error.h"
#include "base/secure_buffer.h"

namespace ssm {

WipedMpz::~WipedMpz()
{
    if (m_v->_mp_d) secure_wipe(m_v->_mp_d, std::size_t(m_v->_mp_alloc) * sizeof(mp_limb_t));
    mpz_clear(m_v);
}

EccScalar::~EccScalar()
{
    secure_wipe(m_s.p, ecc_size(m_curve) * sizeof(mp_limb_t));
    ecc_scalar_clear(&m_s);
}

const ecc_curve* nist_curve_of_size(std::size_t coordinate_size)
{
    switch (coordinate_size) {
    case 32: return nettle_get_secp_256r1();
    case 48: return nettle_get_secp_384r1();
    case 66: return nettle_get_secp_521r1();  // 521 bits in whole octets (SEC 1 §2.3.5)
    default: return nullptr;
    }
}

bool set_ec_point(EccPoint& point, ByteView x, ByteView y)
{
    WipedMpz mx, my;
    nettle_mpz_set_str_256_u(mx.get(), x.size(), x.data());
    nettle_mpz_set_str_256_u(my.get(), y.size(), y.data());
    return ecc_point_set(point.get(), mx.get(), my.get()) == 1;
}

namespace {

// nettle's random callback must not throw through C frames: remember a failure instead.
void nettle_random(void* ctx, std::size_t n, std::uint8_t* dst)
{
    if (gnutls_rnd(GNUTLS_RND_KEY, dst, n) < 0) {
        std::fill(dst, dst + n, std::uint8_t(0));
        *static_cast<bool*>(ctx) = true;
    }
}

}  // namespace

bool ephemeral_ecdh(const ecc_curve* curve, std::size_t size, ByteView x, ByteView y, std::uint8_t* z,
                    Bytes& ephemeral_public)
{
    EccPoint peer(curve);
    if (!set_ec_point(peer, x, y)) return false;
    EccScalar eph(curve);
    EccPoint eph_pub(curve);
    bool rng_failed = false;
    ecdsa_generate_keypair(eph_pub.get(), eph.get(), &rng_failed, nettle_random);
    if (rng_failed) throw Error(Failure::Internal, "random generator failed (ephemeral key)");

    EccPoint shared(curve);
    ecc_point_mul(shared.get(), eph.get(), peer.get());
    WipedMpz zx, zy, ex, ey;
    ecc_point_get(shared.get(), zx.get(), zy.get());
    ecc_point_get(eph_pub.get(), ex.get(), ey.get());
    ephemeral_public.assign(1 + 2 * size, 0);
    ephemeral_public[0] = 0x04;
    nettle_mpz_get_str_256(size, ephemeral_public.data() + 1, ex.get());
    nettle_mpz_get_str_256(size, ephemeral_public.data() + 1 + size, ey.get());
    nettle_mpz_get_str_256(size, z, zx.get());
    return true;
}

}  // namespace ssm
