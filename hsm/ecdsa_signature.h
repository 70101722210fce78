// ECDSA around a token (hsm-internal): the digest that fits a curve, and the token's raw
// CKM_ECDSA output turned into the DER Ecdsa-Sig-Value that CMS and X.509 carry. Input: what
// the token returned (its length checked here; GnuTLS encodes, never hand-counted DER).
#pragma once
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "base/bytes.h"
#include "base/gnutls_datum.h"

namespace ssm::hsm {

// The hash that matches the strength of a curve of `bits` (RFC 5480 §4): SHA-256 for P-256,
// SHA-384 for P-384, SHA-512 for P-521 (GnuTLS may count it as 528 bits). A token may refuse
// CKM_ECDSA input longer than the curve order (CKR_DATA_LEN_RANGE), so one long digest for
// every curve would not do.
constexpr gnutls_digest_algorithm_t ecdsa_digest_for_curve_bits(unsigned bits)
{
    return bits > 384 ? GNUTLS_DIG_SHA512 : bits > 256 ? GNUTLS_DIG_SHA384 : GNUTLS_DIG_SHA256;
}

// PKCS#11 CKM_ECDSA output r||s (each half the size of the curve order) as a DER
// Ecdsa-Sig-Value in `der` (allocated by GnuTLS). GNUTLS_E_PK_SIGN_FAILED when `raw` cannot be
// r||s (empty or of odd length), another negative GnuTLS code when encoding fails, else 0.
inline int ecdsa_sig_value_from_raw(ByteView raw, gnutls_datum_t* der) noexcept
{
    if (raw.empty() || raw.size() % 2 != 0) return GNUTLS_E_PK_SIGN_FAILED;
    const std::size_t half = raw.size() / 2;
    const gnutls_datum_t r = datum_view(raw.first(half)), s = datum_view(raw.subspan(half));
    return gnutls_encode_rs_value(der, &r, &s);
}

}  // namespace ssm::hsm
