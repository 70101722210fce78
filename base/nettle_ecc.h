// nettle's NIST-curve arithmetic for the three places that need it: outbound ECDH
// (smime/cms/key_agreement.cpp), the curve check of an inbound ECDH peer before it reaches the
// token (hsm/token_decrypter.cpp), and the proof that a derive-only token key is a
// certificate's (hsm/key_proof.cpp). GnuTLS 3.7 has no ECDH in its API (TOOLCHAIN.md), so
// nettle, which GnuTLS is built on, does the curve work.
#pragma once
#include <gmp.h>
#include <nettle/ecc-curve.h>
#include <nettle/ecc.h>

#include <cstddef>
#include <cstdint>

#include "base/bytes.h"

namespace ssm {

// One GMP integer whose limbs are wiped before GMP frees them (it may hold a scalar or Z).
class WipedMpz {
public:
    WipedMpz() { mpz_init(m_v); }
    ~WipedMpz();
    WipedMpz(const WipedMpz&) = delete;
    WipedMpz& operator=(const WipedMpz&) = delete;
    mpz_ptr get() { return m_v; }

private:
    mpz_t m_v;
};

// nettle's ecc_point / ecc_scalar as RAII types; scalars are wiped before they are freed.
class EccPoint {
public:
    explicit EccPoint(const ecc_curve* c) { ecc_point_init(&m_p, c); }
    ~EccPoint() { ecc_point_clear(&m_p); }
    EccPoint(const EccPoint&) = delete;
    EccPoint& operator=(const EccPoint&) = delete;
    ecc_point* get() { return &m_p; }

private:
    ecc_point m_p;
};

class EccScalar {
public:
    explicit EccScalar(const ecc_curve* c) : m_curve(c) { ecc_scalar_init(&m_s, c); }
    ~EccScalar();
    EccScalar(const EccScalar&) = delete;
    EccScalar& operator=(const EccScalar&) = delete;
    ecc_scalar* get() { return &m_s; }

private:
    const ecc_curve* m_curve;
    ecc_scalar m_s;
};

// P-256, P-384 or P-521 by the octets of one coordinate (32, 48, 66); null for any other size.
const ecc_curve* nist_curve_of_size(std::size_t coordinate_size);

// Sets `point` to (x, y), big-endian; false when that is not a point of the curve (nettle's
// ecc_point_set checks 0 <= x, y < p and the equation; the three curves have cofactor 1).
bool set_ec_point(EccPoint& point, ByteView x, ByteView y);

// Ephemeral-static ECDH with the peer point (x, y) of `curve` (coordinates of `size` octets):
// writes Z (the x-coordinate of the shared point, `size` octets) to `z` and sets
// `ephemeral_public` to the fresh ephemeral key, 04||X||Y. False when the peer point is not
// on the curve. Throws Error(Internal) when the random generator fails.
bool ephemeral_ecdh(const ecc_curve* curve, std::size_t size, ByteView x, ByteView y, std::uint8_t* z,
                    Bytes& ephemeral_public);

}  // namespace ssm
