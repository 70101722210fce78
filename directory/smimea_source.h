// DNS SMIMEA records (RFC 8162) as a certificate source (PRODUCT §6, [directory.smimea]):
// asked last, after the static folder, LDAP and the harvested certificates, behind the lookup
// cache. Only DNSSEC-secure answers count:
//   - secure records: every record carrying a whole certificate (selector 0, matching type 0,
//     usage PKIX-EE or DANE-EE) is a candidate; other records are skipped and counted in the
//     log (hashes and keys alone cannot be encrypted to);
//   - secure NXDOMAIN/NODATA: no certificate (the cache keeps the negative answer);
//   - insecure (an unsigned zone, or no trust anchor for it): no certificate, logged at info;
//   - bogus (signatures broken, or missing where the trust chain requires them): throws
//     DirectoryUnavailable, like an unreachable LDAP server, so mandatory encryption defers
//     (451 4.7.1) instead of sending in clear or bouncing; why_bogus is logged.
// Candidates then go through the normal choice (certificate_choice.h): the chain must reach
// our trust anchors. DANE-EE (usage 3) certificates are marked (CertificateCandidate::dane_ee)
// and accepted on DNSSEC trust alone only where the choice is told to ([directory.smimea]
// trust_dane_ee); PKIX-EE (usage 1) ones never are.
// SECURITY: answers are untrusted; DNSSEC only proves the zone owner published them.
#pragma once
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "directory/certificate_source.h"
#include "directory/dns_resolver.h"

namespace ssm::directory {

struct SmimeaSourceConfig {
    std::vector<std::string> domains;  // recipient domains looked up, exactly; empty: all
    ResolverSettings resolver;
};

class SmimeaSource final : public CertificateSource {
public:
    // Throws ResolverConfigError (bad forwarder, unreadable trust anchor file, bad domain).
    explicit SmimeaSource(SmimeaSourceConfig config);
    ~SmimeaSource() override;

    bool serves(const EmailAddress& address) const;

    // Empty (and no query) for an address outside `domains`. Candidates carry source
    // "smimea:" + the owner name. Thread-safe.
    std::vector<CertificateCandidate> lookup(const EmailAddress& address) override;
    std::string name() const override;  // "smimea"
    // name() + "#" + 16 hex digits of SHA-256 over what decides which answers validate: the
    // forwarder and the trust anchor file (its name and content). A configuration that
    // validates with other anchors (a reload that adds, replaces or removes one) does not
    // inherit the cache's answers, positive or negative, made under the old ones.
    std::string cache_key() const override { return m_cache_key; }

private:
    SmimeaSourceConfig m_config;
    std::string m_cache_key;
    std::vector<Domain> m_domains;
    std::unique_ptr<ValidatingResolver> m_resolver;
};

}  // namespace ssm::directory
