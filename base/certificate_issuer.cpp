// See certificate_issuer.h.
#include "base/certificate_issuer.h"

#include <algorithm>
#include <array>

#include "base/gnutls_datum.h"
#include "base/name_compare.h"

namespace ssm {

bool issuer_named_otherwise(gnutls_x509_crt_t cert, gnutls_x509_crt_t issuer) noexcept
{
    GnutlsDatum issuer_name, subject_name;
    if (gnutls_x509_crt_get_raw_issuer_dn(cert, &issuer_name.d) < 0 ||
        gnutls_x509_crt_get_raw_dn(issuer, &subject_name.d) < 0)
        return false;
    const ByteView a = issuer_name.view(), b = subject_name.view();
    return !std::equal(a.begin(), a.end(), b.begin(), b.end()) && same_name(a, b);
}

bool names_as_issuer(gnutls_x509_crt_t cert, gnutls_x509_crt_t issuer) noexcept
{
    if (gnutls_x509_crt_check_issuer(cert, issuer) == 1) return true;
    // Not the same bytes (GnuTLS said no for those: the key identifiers differ), the same Name.
    if (!issuer_named_otherwise(cert, issuer)) return false;
    // As GnuTLS's is_issuer (lib/x509/verify.c): without both key identifiers, the names decide.
    std::array<unsigned char, 128> aki{}, ski{};
    std::size_t aki_size = aki.size(), ski_size = ski.size();
    unsigned critical = 0;
    if (gnutls_x509_crt_get_authority_key_id(cert, aki.data(), &aki_size, &critical) < 0 ||
        gnutls_x509_crt_get_subject_key_id(issuer, ski.data(), &ski_size, &critical) < 0)
        return true;
    return aki_size == ski_size && std::equal(aki.begin(), aki.begin() + aki_size, ski.begin());
}

}  // namespace ssm
