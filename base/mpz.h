// One GMP integer for a public value (a modulus, an exponent, a signature): cleared, not wiped,
// when it goes. Secret values use smime/cms/secret_bytes.h's SecretMpz, which wipes its limbs
// first. In base/ because both smime/cms/ and pki/ verify RSA signatures with it (rsa_pss.h)
// and count modulus bits with it.
#pragma once
#include <gmp.h>

#include "base/bytes.h"

namespace ssm {

struct Mpz {
    Mpz() { mpz_init(v); }
    ~Mpz() { mpz_clear(v); }
    Mpz(const Mpz&) = delete;
    Mpz& operator=(const Mpz&) = delete;
    mpz_t v;
};

// The bit length of the unsigned big-endian integer `octets` (an RSA modulus as a certificate
// or GnuTLS gives it, leading zero octets allowed); 0 for zero or no octets. The one count
// pki/ (certificate facts) and smime/cms/ (signer key sizes) both use.
inline unsigned bit_length(ByteView octets)
{
    if (octets.empty()) return 0;
    Mpz n;
    mpz_import(n.v, octets.size(), 1, 1, 1, 0, octets.data());
    return mpz_sgn(n.v) == 0 ? 0 : unsigned(mpz_sizeinbase(n.v, 2));
}

}  // namespace ssm
