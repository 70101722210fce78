// The one mapping between our digest algorithms and GnuTLS's, both ways. Inline so that cms/
// (hashing, signature checks) and hsm/ (DigestInfo, token key parameters) share it without
// linking against the smime/ library, which cms/ must not (smime/cms/digest.h).
#pragma once
#include <gnutls/gnutls.h>

#include <optional>

#include "base/error.h"
#include "smime/algorithms.h"

namespace ssm::smime {

inline gnutls_digest_algorithm_t gnutls_digest(DigestAlgorithm d)
{
    switch (d) {
    case DigestAlgorithm::Sha256: return GNUTLS_DIG_SHA256;
    case DigestAlgorithm::Sha384: return GNUTLS_DIG_SHA384;
    case DigestAlgorithm::Sha512: return GNUTLS_DIG_SHA512;
    }
    throw Error(Failure::Internal, "unknown digest algorithm");
}

// nullopt for every hash we do not sign or digest with (SHA-1, MD5, SHA-224, SHA-3, ...).
inline std::optional<DigestAlgorithm> digest_from_gnutls(gnutls_digest_algorithm_t d) noexcept
{
    switch (d) {
    case GNUTLS_DIG_SHA256: return DigestAlgorithm::Sha256;
    case GNUTLS_DIG_SHA384: return DigestAlgorithm::Sha384;
    case GNUTLS_DIG_SHA512: return DigestAlgorithm::Sha512;
    default: return std::nullopt;
    }
}

}  // namespace ssm::smime
