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

namespace {


// policyConstraints' requireExplicitPolicy (RFC 5280 §4.2.1.11: SEQUENCE { [0] SkipCerts
// OPTIONAL, [1] SkipCerts OPTIONAL }, implicit INTEGERs); nullopt when absent. GnuTLS 3.7 has
// no reader for it; a value that does not read counts as 0 (explicit policy at once: the
// stricter reading of an unreadable constraint).
std::optional<unsigned> require_explicit_policy(const Certificate& c)
{
    gnutls_datum_t ext{nullptr, 0};
    unsigned critical = 0;
    if (gnutls_x509_crt_get_extension_by_oid2(c.get(), "2.5.29.36", 0, &ext, &critical) < 0) return std::nullopt;
    std::optional<unsigned> out;
    const std::uint8_t* p = ext.data;
    std::size_t n = ext.size;
    if (n >= 2 && p[0] == 0x30 && p[1] < 0x80 && std::size_t(p[1]) + 2 == n) {
        for (std::size_t at = 2; at + 2 <= n;) {
            const unsigned tag = p[at], len = p[at + 1];
            if (len == 0 || len > 4 || at + 2 + len > n) {
                out = 0;
                break;
            }
            unsigned value = 0;
            for (unsigned i = 0; i < len; ++i) value = (value << 8) | p[at + 2 + i];
            if (tag == 0x80) out = value;
            at += 2 + len;
        }
    } else {
        out = 0;
    }
    gnutls_free(ext.data);
    return out;
}

// inhibitAnyPolicy (RFC 5280 §4.2.1.14: SkipCerts, an INTEGER); nullopt when absent. Read
// here: gnutls_x509_crt_get_inhibit_anypolicy of GnuTLS 3.7 fails on the PKITS certificates
// (ASN.1 tag error). A value that does not read counts as 0 (the stricter reading).
std::optional<unsigned> inhibit_any_policy(const Certificate& c)
{
    gnutls_datum_t ext{nullptr, 0};
    unsigned critical = 0;
    if (gnutls_x509_crt_get_extension_by_oid2(c.get(), "2.5.29.54", 0, &ext, &critical) < 0) return std::nullopt;
    unsigned value = 0;
    const bool ok = ext.size >= 3 && ext.size <= 6 && ext.data[0] == 0x02 && ext.data[1] == ext.size - 2 &&
                    !(ext.data[2] & 0x80);
    for (unsigned i = 2; ok && i < ext.size; ++i) value = (value << 8) | ext.data[i];
    gnutls_free(ext.data);
    return ok ? value : 0;
}

}  // namespace

std::optional<std::string> check_policy_constraints(const std::vector<const Certificate*>& chain)
{
    const std::size_t n = chain.size();
    std::size_t explicit_policy = n + 1, inhibit_any = n + 1;
    // The valid policies (RFC 5280 §6.1.2 (a): the tree starts as {anyPolicy}); nullopt: the
    // tree is NULL.
    std::optional<std::vector<std::string>> valid = std::vector<std::string>{std::string(oid_any_policy)};
    const auto has = [](const std::vector<std::string>& v, std::string_view oid) {
        return std::find(v.begin(), v.end(), oid) != v.end();
    };
    for (std::size_t k = n; k-- > 0;) {  // from the CA next to the anchor down to the end entity
        const Certificate& cert = *chain[k];
        const bool last = k == 0;
        const bool self_issued = is_self_issued(cert);
        // §6.1.3 (d), (e): the policies this certificate keeps valid.
        if (valid) {
            const std::vector<std::string> asserted = certificate_policies(cert);
            const bool any_stands = has(asserted, oid_any_policy) && (inhibit_any > 0 || (!last && self_issued));
            std::vector<std::string> next;
            for (const auto& p : asserted)
                if (p != oid_any_policy && (has(*valid, p) || has(*valid, oid_any_policy)) && !has(next, p))
                    next.push_back(p);
            if (any_stands)
                for (const auto& p : *valid)
                    if (!has(next, p)) next.push_back(p);
            valid = next.empty() ? std::nullopt : std::optional(std::move(next));
        }
        if (last) {
            // §6.1.5 (a), (b).
            if (explicit_policy > 0) --explicit_policy;
            if (const auto r = require_explicit_policy(cert); r && *r == 0) explicit_policy = 0;
        } else {
            // §6.1.3 (f), then §6.1.4 (h), (i), (j).
            if (explicit_policy == 0 && !valid)
                return "no valid certificate policy below a CA that requires one (requireExplicitPolicy)";
            if (!self_issued) {
                if (explicit_policy > 0) --explicit_policy;
                if (inhibit_any > 0) --inhibit_any;
            }
            if (const auto r = require_explicit_policy(cert); r && *r < explicit_policy) explicit_policy = *r;
            if (const auto skip = inhibit_any_policy(cert); skip && *skip < inhibit_any) inhibit_any = *skip;
        }
    }
    // §6.1.5 (g).
    if (explicit_policy == 0 && !valid)
        return "no valid certificate policy for the path (requireExplicitPolicy or inhibitAnyPolicy)";
    return std::nullopt;
}

}  // namespace ssm::pki
