// Encryption certificate choice and the source resolver (see certificate_choice.h). The facts
// come from pki::facts over untrusted certificates (read once per candidate certificate, kept
// in pki::SharedCertificate); nothing here trusts a candidate's source.
#include "directory/certificate_choice.h"

#include <algorithm>
#include <exception>
#include <tuple>
#include <utility>

#include "base/error.h"

namespace ssm::directory {

namespace {

// RFC 8551 §2.3: sending agents SHOULD NOT encrypt to a shorter RSA key. The gateway encrypts
// new mail, whose secrecy such a key would not keep for long; refused like a wrong key usage,
// so a longer certificate of the recipient is chosen, or none. (A signer's short key is only
// noted: received mail is old mail too, smime/cms/verify_signature.cpp SignerKey::weak.)
constexpr unsigned kMinRsaEncryptionBits = 2048;

// Why a key of this type, size and key usage cannot be encrypted to; nullopt when it can.
std::optional<std::string> key_problem(const pki::CertificateFacts& f)
{
    using pki::KeyType;
    switch (f.key_type) {
    case KeyType::Rsa:
        if (f.key_usage && !f.key_usage->key_encipherment) return "key usage lacks keyEncipherment (RSA key)";
        if (f.key_bits < kMinRsaEncryptionBits)
            return "RSA key of " + std::to_string(f.key_bits) + " bits is shorter than " +
                   std::to_string(kMinRsaEncryptionBits) + " (RFC 8551 section 2.3)";
        return std::nullopt;
    case KeyType::EcP256:
    case KeyType::EcP384:
    case KeyType::EcP521:
    case KeyType::X25519:
        if (f.key_usage && !f.key_usage->key_agreement)
            return "key usage lacks keyAgreement (" + std::string(pki::key_type_name(f.key_type)) + " key)";
        return std::nullopt;
    case KeyType::RsaPss:
    case KeyType::Ed25519:
    case KeyType::Other: break;
    }
    return std::string(pki::key_type_name(f.key_type)) + " key cannot be used for encryption";
}

std::string describe(const CertificateCandidate& c, const pki::CertificateFacts& f)
{
    return c.source + " (serial " + to_hex(f.serial) + ")";
}

// The checks of the certificate itself (no chain).
std::vector<std::string> certificate_problems(const pki::CertificateFacts& f, const std::string& address_key,
                                              std::time_t now)
{
    std::vector<std::string> out;
    if (!f.has_address(address_key)) out.push_back("not issued for " + address_key);
    if (now > f.not_after) out.push_back("expired " + pki::format_time(f.not_after));
    if (now < f.not_before) out.push_back("not valid before " + pki::format_time(f.not_before));
    if (f.is_ca) out.push_back("is a CA certificate");
    if (!f.allows_email_protection()) out.push_back("extended key usage lacks emailProtection");
    if (auto key = key_problem(f)) out.push_back(*key);
    return out;
}

// `address_key`: the path's anchor must vouch for the recipient's domain ([[pki.anchor]]), whatever
// source the certificate came from.
void chain_problems(std::vector<std::string>& out, const pki::Certificate& cert, const std::string& address_key,
                    const pki::TrustStore& trust, std::time_t now, std::span<const pki::Certificate> intermediates,
                    const SharedBudget& budget, bool* revocation_unknown)
{
    pki::ValidationOptions options;
    options.address = address_key;
    options.revocation_budget = budget;
    const auto v = trust.validate(cert, intermediates, now, pki::Purpose::EmailProtection, options);
    if (v.valid()) return;
    out.push_back("chain: " + v.describe());
    if (revocation_unknown && std::all_of(v.problems.begin(), v.problems.end(),
                                          [](pki::Problem p) { return p == pki::Problem::RevocationUnknown; }))
        *revocation_unknown = true;
}

}  // namespace

std::vector<std::string> encryption_problems(const pki::Certificate& cert, const pki::CertificateFacts& f,
                                             const std::string& address_key, const pki::TrustStore& trust,
                                             std::time_t now, std::span<const pki::Certificate> intermediates,
                                             const SharedBudget& budget, bool* revocation_unknown)
{
    auto out = certificate_problems(f, address_key, now);
    if (out.empty()) chain_problems(out, cert, address_key, trust, now, intermediates, budget, revocation_unknown);
    return out;
}

std::vector<std::string> encryption_problems(const pki::SharedCertificate& cert, const pki::CertificateFacts& f,
                                             const std::string& address_key, const pki::TrustStore& trust,
                                             std::time_t now, std::span<const pki::Certificate> intermediates,
                                             const SharedBudget& budget, bool* revocation_unknown)
{
    auto out = certificate_problems(f, address_key, now);
    if (out.empty())  // cert.parse(): this thread's own GnuTLS object
        chain_problems(out, cert.parse(), address_key, trust, now, intermediates, budget, revocation_unknown);
    return out;
}

std::vector<std::string> candidate_problems(const CertificateCandidate& c, const std::string& address_key,
                                            const pki::TrustStore& trust, std::time_t now, bool trust_dane_ee,
                                            std::span<const pki::Certificate> intermediates,
                                            const SharedBudget& budget, bool* revocation_unknown)
{
    // DANE-EE: the certificate itself must still name the address, be valid now (stricter
    // than RFC 7671 asks of TLS), not be a CA and allow encryption; only the chain is replaced
    // by the DNSSEC proof that the domain published it.
    if (c.dane_ee && trust_dane_ee) return certificate_problems(c.cert.facts(), address_key, now);
    return encryption_problems(c.cert, c.cert.facts(), address_key, trust, now, intermediates, budget,
                               revocation_unknown);
}

std::vector<pki::Certificate> chain_certificates(const std::vector<CertificateCandidate>& candidates)
{
    std::vector<pki::Certificate> out;
    for (const auto& c : candidates)
        if (c.cert.facts().is_ca && out.size() < kMaxChainCertificates) out.push_back(c.cert.parse());
    return out;
}

Choice choose_encryption_certificate(const EmailAddress& address, std::vector<CertificateCandidate> candidates,
                                     const pki::TrustStore& trust, std::time_t now, bool trust_dane_ee,
                                     const SharedBudget& budget)
{
    const std::string key = address_key(address);
    Choice choice;
    // PRODUCT §7: intermediate and cross-certificates from the directory and messages. The CA
    // certificates among one source's answer (a directory's PKCS#7 bundle, the CAs a signed
    // message carried) complete the paths of its end-entity certificates; they are untrusted
    // like any candidate, path validation still has to end at one of our anchors.
    const std::vector<pki::Certificate> intermediates = chain_certificates(candidates);
    for (auto& c : candidates) {
        const pki::CertificateFacts& f = c.cert.facts();  // read once, when the candidate was made
        // A CA certificate is chain material, not a choice; reported only when it names the
        // address (someone published a CA certificate as the recipient's).
        if (f.is_ca && !f.has_address(key)) continue;
        const auto problems =
            candidate_problems(c, key, trust, now, trust_dane_ee, intermediates, budget, &choice.revocation_unknown);
        if (!problems.empty()) {
            std::string line = describe(c, f) + ": ";
            for (std::size_t i = 0; i < problems.size(); ++i) line += (i ? "; " : "") + problems[i];
            choice.rejected_reasons.push_back(std::move(line));
            choice.own_refused = choice.own_refused || f.has_address(key);
            continue;
        }
        // Newest wins; ties broken by expiry, then fingerprint, so the result is deterministic.
        auto rank = [](const pki::CertificateFacts& x) {
            return std::tie(x.not_before, x.not_after, x.sha256_fingerprint);
        };
        if (choice.chosen && rank(f) <= rank(choice.chosen->facts)) continue;
        choice.chosen = RecipientCertificate{c.cert.der(), f, c.source, std::move(c.smime_capabilities_der)};
    }
    return choice;
}

CertificateResolver::CertificateResolver(std::vector<std::shared_ptr<CertificateSource>> sources,
                                         std::shared_ptr<const pki::TrustStore> trust, bool trust_dane_ee)
    : m_sources(std::move(sources)), m_trust(std::move(trust)), m_trust_dane_ee(trust_dane_ee)
{
    if (!m_trust) throw std::invalid_argument("CertificateResolver needs a trust store");
}

Choice CertificateResolver::find(const EmailAddress& address, std::time_t now, const SharedBudget& budget) const
{
    return find_with(address, now, [&](CertificateSource& source) { return source.answer(address); }, budget);
}

Choice CertificateResolver::find(const EmailAddress& address, std::time_t now, const SourceAnswer& ask) const
{
    return find_with(address, now, ask, nullptr);
}

Choice CertificateResolver::find_with(const EmailAddress& address, std::time_t now, const SourceAnswer& ask,
                                      const SharedBudget& budget) const
{
    Choice all;
    std::exception_ptr unavailable;
    std::vector<std::string> cuts;
    for (const auto& source : m_sources) {
        LookupAnswer answer;
        try {
            answer = ask(*source);
        } catch (const Error& e) {
            if (e.failure() != Failure::DirectoryUnavailable) throw;
            if (!unavailable) unavailable = std::current_exception();
            all.rejected_reasons.push_back(source->name() + ": unavailable: " + e.what());
            continue;
        }
        if (!answer.complete()) cuts.push_back(source->name() + ": answer cut: " + answer.cut);
        Choice c = choose_encryption_certificate(address, std::move(answer.candidates), *m_trust, now,
                                                 m_trust_dane_ee, budget);
        all.revocation_unknown = all.revocation_unknown || c.revocation_unknown;
        all.own_refused = all.own_refused || c.own_refused;
        all.rejected_reasons.insert(all.rejected_reasons.end(), std::make_move_iterator(c.rejected_reasons.begin()),
                                    std::make_move_iterator(c.rejected_reasons.end()));
        if (c.chosen) {
            all.chosen = std::move(c.chosen);
            return all;
        }
    }
    // Nothing usable, and a source's limits left certificates out: the likeliest explanation,
    // so first (the refusal and its log line quote the first reason). Not a failure (451): the
    // directory answers the same at every retry, so a retry only delays the bounce by days.
    all.rejected_reasons.insert(all.rejected_reasons.begin(), std::make_move_iterator(cuts.begin()),
                                std::make_move_iterator(cuts.end()));
    if (unavailable) std::rethrow_exception(unavailable);
    return all;
}

}  // namespace ssm::directory
