// One GMP integer for a public value (a modulus, an exponent, a signature): cleared, not wiped,
// when it goes. Secret values use smime/cms/secret_bytes.h's SecretMpz, which wipes its limbs
// first. In base/ because both smime/cms/ and pki/ verify RSA signatures with it (rsa_pss.h).
#pragma once
#include <gmp.h>

namespace ssm {

struct Mpz {
    Mpz() { mpz_init(v); }
    ~Mpz() { mpz_clear(v); }
    Mpz(const Mpz&) = delete;
    Mpz& operator=(const Mpz&) = delete;
    mpz_t v;
};

}  // namespace ssm
