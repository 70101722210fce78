// Required certificate policy check (see policies.h for the simplification of RFC 5280 §6.1).
// Untrusted certificates: policies are read through GnuTLS, compared as dotted strings.
#include "pki/policies.h"

#include <algorithm>

#include <gnutls/x509.h>

namespace ssm::pki {

std::vector<std::string> certificate_policies(const Certificate& cert)
{
    std::vector<std::string> out;
    for (unsigned i = 0; i < 64; ++i) {
        gnutls_x509_policy_st policy{};
        unsigned critical = 0;
        if (gnutls_x509_crt_get_policy(cert.get(), i, &policy, &critical) < 0) break;
        if (policy.oid) out.emplace_back(policy.oid);
        gnutls_x509_policy_release(&policy);
    }
    return out;
}

std::optional<std::string> check_required_policies(const std::vector<const Certificate*>& chain,
                                                   std::span<const std::string> required)
{
    if (required.empty() || chain.empty()) return std::nullopt;
    const auto ee = certificate_policies(*chain.front());
    std::vector<std::vector<std::string>> cas;
    for (std::size_t i = 1; i < chain.size(); ++i) cas.push_back(certificate_policies(*chain[i]));
    bool ee_has_one = false;
    for (const auto& oid : required) {
        if (std::find(ee.begin(), ee.end(), oid) == ee.end()) continue;
        ee_has_one = true;
        const bool all_cas = std::all_of(cas.begin(), cas.end(), [&](const std::vector<std::string>& p) {
            return std::find(p.begin(), p.end(), oid) != p.end() ||
                   std::find(p.begin(), p.end(), oid_any_policy) != p.end();
        });
        if (all_cas) return std::nullopt;
    }
    std::string list;
    for (const auto& oid : required) list += (list.empty() ? "" : ",") + oid;
    if (!ee_has_one) return "certificate asserts none of the required policies " + list;
    return "a CA of the path does not assert the required policy (" + list + ") or anyPolicy";
}

}  // namespace ssm::pki
