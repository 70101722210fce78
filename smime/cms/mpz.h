// One GMP integer for a public value (a modulus, an exponent, a signature): cleared, not wiped,
// when it goes. Secret values use secret_bytes.h's SecretMpz, which wipes its limbs first.
#pragma once
#include <gmp.h>

namespace ssm::smime::cms {

struct Mpz {
    Mpz() { mpz_init(v); }
    ~Mpz() { mpz_clear(v); }
    Mpz(const Mpz&) = delete;
    Mpz& operator=(const Mpz&) = delete;
    mpz_t v;
};

}  // namespace ssm::smime::cms
