// Clearances in our recipients' own certificates (PRODUCT §4.1, RFC 5755 §4.4.6, RFC 5913):
// the Clearance attribute in the subjectDirectoryAttributes extension of the certificate the
// token holds for the recipient's address, added to what the directory says, as far as the
// Authority Clearance Constraints (RFC 5913 §3) of the CAs of its certification path allow.
// The token's certificates were put there by the administrator; their extensions are still
// parsed strictly, and what the CAs did not vouch for grants nothing.
#pragma once
#include <ctime>

#include "milter/certificates.h"
#include "milter/config.h"
#include "milter/key_source.h"
#include "milter/security_labels.h"
#include "pki/trust_store.h"
#include "policy/labels.h"

namespace ssm::milter {

class CertificateClearances final : public policy::ClearanceDirectory {
public:
    // `directory`: asked first (may be null). `trust`: the anchors and intermediates the
    // certificate's path is built from (with the CA certificates stored on the token next to
    // it), valid at `now`. All must outlive this object (one message).
    // `budget`: the message's revocation time (pki/revocation_budget.h); null: each path
    // validation gets one of its own.
    CertificateClearances(KeySource& keys, const policy::ClearanceDirectory* directory, const pki::TrustStore& trust,
                          std::time_t now, std::shared_ptr<const pki::RevocationBudget> budget = nullptr)
        : m_keys(&keys), m_directory(directory), m_trust(&trust), m_now(now), m_budget(std::move(budget)) {}
    // The directory's values, then the certificate's, each intersected with what the CA
    // certificates of its path (trust anchor included) permit (policy/clearance_constraints.h).
    // When no valid path to a trust anchor is found or a CA's constraints extension does not
    // decode, none of the certificate's values is used: each counts as unreadable (logged).
    // Throws what the directory throws, and ssm::Error(HsmUnavailable) when the token cannot be
    // asked.
    policy::DirectoryClearances clearances(const EmailAddress& recipient) const override;

private:
    KeySource* m_keys;
    const policy::ClearanceDirectory* m_directory;
    const pki::TrustStore* m_trust;
    std::time_t m_now;
    std::shared_ptr<const pki::RevocationBudget> m_budget;
};

// judge_labels (security_labels.h) with the clearances the configuration names: the
// directory's, and with [labels] clearance_from_certificate those in the recipients' own
// certificates on the token. The one check for mail to recipients and to a list's members.
// `budget`: the message's revocation time, as for CertificateClearances.
LabelVerdict judge_labels_for(const Config& config, const Certificates& certificates, KeySource& keys,
                              const std::vector<SignedLabel>& found, const std::vector<EmailAddress>& recipients,
                              const std::optional<Domain>& author_domain,
                              std::shared_ptr<const pki::RevocationBudget> budget = nullptr);

}  // namespace ssm::milter
