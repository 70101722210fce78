// Clearances in the recipient's certificate on the token; see certificate_clearances.h.
// The certificate and its CA certificates come from the token or the [pki] folders; the CA
// constraints are read from the path that validated, never from a certificate off the path.
#include "milter/certificate_clearances.h"

#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/log.h"
#include "pki/certificate.h"
#include "policy/clearance_constraints.h"
#include "smime/cms/clearance.h"
#include "smime/signer.h"

namespace ssm::milter {

namespace {

constexpr const char* kSubjectDirectoryAttributes = "2.5.29.9";

using smime::cms::ClearanceValue;

// The constraints of the CA certificates of the certificate's validated path, trust anchor
// first; a CA without the extension adds nothing. Sets `problem` (and returns nothing) when
// no path validates or a CA's extension does not decode.
std::vector<std::vector<ClearanceValue>> path_constraints(const pki::Certificate& cert, const smime::Signer& signer,
                                                          const pki::TrustStore& trust, std::time_t now,
                                                          const std::shared_ptr<const pki::RevocationBudget>& budget,
                                                          const EmailAddress& recipient, std::string& problem)
{
    std::vector<pki::Certificate> on_token;
    for (const auto& der : signer.chain_der())
        if (auto c = pki::Certificate::parse_der(der)) on_token.push_back(std::move(*c));
    // Any purpose: the clearance does not depend on what the key is for. Revocation as [pki]
    // says for every other path: a revoked CA vouches for nothing.
    pki::ValidationOptions options;
    options.revocation_budget = budget;  // the message's, when it has one
    options.logged_for = recipient.str();  // not options.address: our own certificate, bound to no anchor
    const pki::ValidationResult r = trust.validate(cert, on_token, now, pki::Purpose::Any, options);
    if (!r.valid() || r.path.empty()) {
        problem = "no valid certification path for the clearance: " + r.describe();
        return {};
    }
    std::vector<std::vector<ClearanceValue>> out;
    for (auto it = r.path.rbegin(); it != r.path.rend() - 1; ++it) {  // anchor first, end entity left out
        const auto ca = pki::Certificate::parse_der(*it);
        if (!ca) {
            problem = "a CA certificate of the path cannot be read";
            return {};
        }
        const auto value = pki::extension_value(*ca, smime::cms::oid::kClearanceConstraints);
        if (!value) continue;
        try {
            out.push_back(smime::cms::decode_clearance_constraints(*value));
        } catch (const Error& e) {
            problem = "clearance constraints of CA '" + pki::facts(*ca).subject.substr(0, 120) + "': " + e.what();
            return {};
        }
    }
    return out;
}

}  // namespace

policy::DirectoryClearances CertificateClearances::clearances(const EmailAddress& recipient) const
{
    policy::DirectoryClearances out = m_directory ? m_directory->clearances(recipient) : policy::DirectoryClearances{};
    const auto signer = m_keys->signer_for(recipient);
    if (!signer) return out;
    const auto cert = pki::Certificate::parse_der(signer->certificate_der());
    if (!cert) return out;
    const auto value = pki::extension_value(*cert, kSubjectDirectoryAttributes);
    if (!value) return out;  // no such extension
    auto unreadable = [&](const std::string& why) {
        log::warning("clearance-unreadable", {{"recipient", recipient.str()}, {"source", "certificate"}, {"error", why}});
    };
    smime::cms::ClearancesFound found;
    try {
        found = smime::cms::clearances_in_directory_attributes(*value);
    } catch (const Error& e) {
        ++out.unreadable;
        unreadable(e.what());
        return out;
    }
    out.unreadable += found.unreadable;
    for (const auto& why : found.errors) unreadable(why);
    if (found.values.empty()) return out;  // nothing to constrain: no path needed

    std::string problem;
    const auto constraints = path_constraints(*cert, *signer, *m_trust, m_now, m_budget, recipient, problem);
    if (!problem.empty()) {
        out.unreadable += found.values.size();  // fail closed: not one of them grants anything
        unreadable(problem);
        return out;
    }
    std::vector<ClearanceValue> kept = policy::constrain_clearances(found.values, constraints);
    if (kept != found.values)
        log::info("clearance-constrained", {{"recipient", recipient.str()},
                                            {"claimed", std::to_string(found.values.size())},
                                            {"kept", std::to_string(kept.size())},
                                            {"constraining_cas", std::to_string(constraints.size())}});
    for (auto& v : kept) out.values.push_back(std::move(v));
    return out;
}

LabelVerdict judge_labels_for(const Config& config, const Certificates& certificates, KeySource& keys,
                              const std::vector<SignedLabel>& found, const std::vector<EmailAddress>& recipients,
                              const std::optional<Domain>& author_domain,
                              std::shared_ptr<const pki::RevocationBudget> budget)
{
    const policy::ClearanceDirectory* clearances = certificates.clearances();
    std::optional<CertificateClearances> with_certificates;
    if (config.clearance_from_certificate)
        clearances = &with_certificates.emplace(keys, clearances, certificates.trust(), std::time(nullptr),
                                                            std::move(budget));
    return judge_labels(config.labels, found, recipients, author_domain, clearances);
}

}  // namespace ssm::milter
