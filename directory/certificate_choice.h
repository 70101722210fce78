// Choosing the certificate to encrypt to for one address (PRODUCT §6): among the candidates of
// the sources, the newest that names the address, is valid now, chains to a trust anchor that
// vouches for its domain ([[pki.anchor]]), allows emailProtection, has the key usage its key
// type needs (and, for RSA, at least 2048 bits) and is not a CA.
// SECURITY: candidates are untrusted; every rejection is explained so administrators can act.
#pragma once
#include <ctime>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/email_address.h"
#include "directory/certificate_source.h"
#include "pki/revocation_budget.h"
#include "pki/trust_store.h"

namespace ssm::directory {

struct RecipientCertificate {
    Bytes der;
    pki::CertificateFacts facts;
    std::string source;
    std::optional<Bytes> smime_capabilities_der;
};

struct Choice {
    std::optional<RecipientCertificate> chosen;
    // One line per rejected candidate: "static:x.pem (serial 0a1b): expired 2024-01-01T00:00:00Z".
    std::vector<std::string> rejected_reasons;
    // A candidate was refused for want of revocation answers alone (hard-fail: no current CRL
    // or OCSP answer for its path, or the transaction's revocation time spent): none is usable
    // now, but it may be once its responders answer, so no certificate is not the answer.
    bool revocation_unknown = false;
    // A refused candidate names the address itself: the address has a certificate of its own,
    // unusable now (revoked, expired, wrong usage, revocation unknown ...).
    bool own_refused = false;
    // Set by a caller that asked again under another address (milter::Certificates::
    // find_for_mailbox: the mailbox without its address extension) and found `chosen` there.
    std::optional<EmailAddress> found_under;
};

// Why a candidate cannot be used to encrypt to `address_key` (lower case), or empty when it can.
// Checks the certificate itself first; the chain only when those pass (it is the costly part).
// `intermediates`: untrusted CA certificates that came with it, for path building.
// `budget`: the message's time for online revocation checks, shared with its other
// validations (pki/revocation_budget.h); null: this validation gets one of its own.
// `revocation_unknown` (when given) is set when the chain's only problems are unknown
// revocation statuses (see Choice::revocation_unknown).
using SharedBudget = std::shared_ptr<const pki::RevocationBudget>;
std::vector<std::string> encryption_problems(const pki::Certificate& cert, const pki::CertificateFacts& facts,
                                             const std::string& address_key, const pki::TrustStore& trust,
                                             std::time_t now, std::span<const pki::Certificate> intermediates = {},
                                             const SharedBudget& budget = nullptr, bool* revocation_unknown = nullptr);
// The same for a candidate's shared certificate: a GnuTLS object is made (parsed, for this
// call only) when the chain is to be validated.
std::vector<std::string> encryption_problems(const pki::SharedCertificate& cert, const pki::CertificateFacts& facts,
                                             const std::string& address_key, const pki::TrustStore& trust,
                                             std::time_t now, std::span<const pki::Certificate> intermediates = {},
                                             const SharedBudget& budget = nullptr, bool* revocation_unknown = nullptr);

// encryption_problems for one candidate; with trust_dane_ee a DANE-EE one (see
// CertificateCandidate::dane_ee) gets every check but the chain's.
std::vector<std::string> candidate_problems(const CertificateCandidate& candidate, const std::string& address_key,
                                            const pki::TrustStore& trust, std::time_t now, bool trust_dane_ee,
                                            std::span<const pki::Certificate> intermediates = {},
                                            const SharedBudget& budget = nullptr, bool* revocation_unknown = nullptr);

// The CA certificates among one source's candidates (at most kMaxChainCertificates), parsed:
// the intermediates for the others' paths.
inline constexpr std::size_t kMaxChainCertificates = 32;
std::vector<pki::Certificate> chain_certificates(const std::vector<CertificateCandidate>& candidates);

// The newest (latest notBefore; then latest notAfter) usable candidate; every candidate's
// validation spends `budget` (null: each gets one of its own). Thread-safe.
Choice choose_encryption_certificate(const EmailAddress& address, std::vector<CertificateCandidate> candidates,
                                     const pki::TrustStore& trust, std::time_t now, bool trust_dane_ee = false,
                                     const SharedBudget& budget = nullptr);

// Asks the sources in configured order; the first source that yields a usable certificate wins
// (later sources are not asked). A source that throws DirectoryUnavailable is noted and the next
// one asked; the error is rethrown only when no later source yields a usable certificate, since
// the unreachable source might have held one (answer 451 4.7.1, not 550 5.7.1). Other errors
// propagate at once. An answer cut by a source's limits (LookupAnswer::cut) is used like any
// other; when no source yields a usable certificate, each cut comes first among the reasons
// ("SOURCE: answer cut: WHY"). Thread-safe when the sources are.
class CertificateResolver {
public:
    CertificateResolver(std::vector<std::shared_ptr<CertificateSource>> sources,
                        std::shared_ptr<const pki::TrustStore> trust, bool trust_dane_ee = false);
    // `budget`: the message's revocation time, shared by every candidate validated here and by
    // the message's other validations (one per SMTP transaction, not one per RCPT); null: each
    // validation gets one of its own.
    Choice find(const EmailAddress& address, std::time_t now, const SharedBudget& budget = nullptr) const;
    // The same decision over answers got elsewhere: `ask` answers for one source as its
    // answer(address) would (candidates and cut, or throws). ssmctl cert lookup has already asked
    // every source to explain each; asking again would cost an unreachable server's timeout twice.
    using SourceAnswer = std::function<LookupAnswer(CertificateSource&)>;
    Choice find(const EmailAddress& address, std::time_t now, const SourceAnswer& ask) const;

private:
    Choice find_with(const EmailAddress& address, std::time_t now, const SourceAnswer& ask,
                     const SharedBudget& budget) const;

    std::vector<std::shared_ptr<CertificateSource>> m_sources;
    std::shared_ptr<const pki::TrustStore> m_trust;
    bool m_trust_dane_ee;
};

}  // namespace ssm::directory
