// The CA checks of a certification path (see ca_constraints.h). The certificates are untrusted:
// each extension is read through GnuTLS with its error checked, and one that does not read
// fails the path.
#include "pki/ca_constraints.h"

#include <algorithm>

#include <gnutls/x509.h>

#include "pki/certificate.h"

namespace ssm::pki {

namespace {

// RFC 5280 §6.1.4 (k), (m), (n) for `ca` as the issuer of the certificate below it; lowers
// `remaining` (max_path_length, nullopt: unbounded) to its pathLenConstraint.
std::optional<CaViolation> check_issuer(const Certificate& ca, bool is_anchor, std::optional<unsigned>& remaining)
{
    const int version = gnutls_x509_crt_get_version(ca.get());
    if (version < 0) return CaViolation{Problem::IssuerNotCa, &ca, "has an unreadable version"};
    // A v1 anchor is a CA by being trusted (as GnuTLS has it); a v1 intermediate never is.
    if (is_anchor && version == 1) return std::nullopt;

    unsigned critical = 0, is_ca = 0;
    int path_len = -1;
    const int bc = gnutls_x509_crt_get_basic_constraints(ca.get(), &critical, &is_ca, &path_len);
    if (bc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) {
        // GnuTLS takes a self-issued v3 anchor without basicConstraints for a CA; kept so that
        // no anchor an administrator configured stops working. Self-issued as RFC 5280 has it:
        // its two Names the same by §7.1 (GnuTLS's issuer check compares their bytes, then their
        // RFC 4514 text: the string type aside, case and spacing count).
        if (!is_anchor || !is_self_issued(ca))
            return CaViolation{Problem::IssuerNotCa, &ca, "is not a CA (no basicConstraints)"};
    } else if (bc < 0) {
        return CaViolation{Problem::IssuerNotCa, &ca, "has an unreadable basicConstraints"};
    } else if (is_ca == 0) {
        return CaViolation{Problem::IssuerNotCa, &ca, "is not a CA (basicConstraints cA not set)"};
    } else if (path_len >= 0 && (!remaining || static_cast<unsigned>(path_len) < *remaining)) {
        remaining = static_cast<unsigned>(path_len);  // (m); a negative value is GnuTLS's "none"
    }

    unsigned usage = 0;
    const int ku = gnutls_x509_crt_get_key_usage(ca.get(), &usage, nullptr);
    if (ku == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) return std::nullopt;
    if (ku < 0) return CaViolation{Problem::Constraints, &ca, "has an unreadable keyUsage"};
    if (!(usage & GNUTLS_KEY_KEY_CERT_SIGN))
        return CaViolation{Problem::Constraints, &ca, "may not sign certificates (keyUsage without keyCertSign)"};
    return std::nullopt;
}

}  // namespace

std::optional<CaViolation> check_ca_constraints(const std::vector<const Certificate*>& chain,
                                                const Certificate& anchor)
{
    if (chain.empty() || (chain.size() == 1 && same_certificate(*chain.front(), anchor))) return std::nullopt;
    // The CAs below the anchor, from the one issuing the end entity upwards.
    std::vector<const Certificate*> intermediates(chain.begin() + 1, chain.end());
    if (!intermediates.empty() && same_certificate(*intermediates.back(), anchor)) intermediates.pop_back();

    std::optional<unsigned> remaining;
    if (auto v = check_issuer(anchor, true, remaining)) return v;
    for (auto it = intermediates.rbegin(); it != intermediates.rend(); ++it) {
        const Certificate& ca = **it;
        // (l): a CA below the issuers' pathLenConstraint counts unless it is self-issued.
        if (!is_self_issued(ca)) {
            if (remaining && *remaining == 0)
                return CaViolation{Problem::Constraints, &ca, "exceeds the pathLenConstraint of a CA above it"};
            if (remaining) --*remaining;
        }
        if (auto v = check_issuer(ca, false, remaining)) return v;
    }
    return std::nullopt;
}

}  // namespace ssm::pki
