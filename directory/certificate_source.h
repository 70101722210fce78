// Where recipients' encryption certificates come from: one interface over the static folder,
// the harvest store, the imported store and LDAP (behind the lookup cache), so the resolver can
// ask them in configured order.
// SECURITY: candidates are untrusted until certificate_choice.h has checked them.
#pragma once
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/email_address.h"
#include "pki/certificate.h"

namespace ssm::directory {

struct CertificateCandidate {
    // Immutable DER and facts: candidates (and the sources' memos) may share it between
    // threads; cert.parse() makes a GnuTLS object for one use (chain validation).
    pki::SharedCertificate cert;
    std::string source;  // "static:FILE", "harvested", later "ldap:URI"
    std::optional<Bytes> smime_capabilities_der;  // SMIMECapabilities seen with it (harvested)
    std::time_t harvested_at = 0;                  // when it was last seen; 0: not harvested
    // From an RFC 8162 DANE-EE (usage 3) record of a DNSSEC-secure answer: the zone owner
    // vouches for it. Whether that replaces the chain to our anchors is the choice's to
    // decide ([directory.smimea] trust_dane_ee), so a cached mark follows the configuration.
    bool dane_ee = false;
};

// One source's answer for an address, with whether it is the whole answer.
struct LookupAnswer {
    std::vector<CertificateCandidate> candidates;
    // Empty: everything the source holds for the address. Otherwise the source's own limits
    // cut the answer (values dropped, more entries than it reads), and why, for reasons and
    // logs: the certificate left out may be the one that matters. Such an answer is used for
    // this lookup only (certificate_choice.h) and never cached (lookup_cache.h).
    std::string cut;
    bool complete() const noexcept { return cut.empty(); }
};

// The lower-case form of an address used as a lookup key by every source.
std::string address_key(const EmailAddress& address);

class CertificateSource {
public:
    virtual ~CertificateSource() = default;
    // Every certificate the source holds for the address (unchecked: expired, wrong usage and
    // so on included, so the choice can explain its rejections). Empty when it has none.
    // Throws ssm::Error(Failure::DirectoryUnavailable, ...) when the source cannot be asked.
    // Implementations are thread-safe.
    virtual std::vector<CertificateCandidate> lookup(const EmailAddress& address) = 0;
    // The same answer with whether it is complete (LookupAnswer::cut). Default: lookup(), which
    // is complete for a source without limits of its own that cut answers.
    virtual LookupAnswer answer(const EmailAddress& address) { return LookupAnswer{lookup(address), {}}; }
    // For logs and reasons: "static:/etc/ssm-milter/certs", "harvested", ...
    virtual std::string name() const = 0;
    // What the lookup cache (lookup_cache.h) files this source's answers under: it must differ
    // between two sources that may answer one address differently (two LDAP directories on
    // one server with other bases or filters), or one's answer would be served for the
    // other's. No NUL. Default: name().
    virtual std::string cache_key() const { return name(); }
};

// A cache_key() for a source whose answers depend on its settings: `name`, "#", and the
// first 8 octets (hex) of SHA-256 over `kind` and each of `parts` with its length, so that no
// two settings make the same text.
std::string settings_cache_key(const std::string& name, const std::string& kind,
                               const std::vector<std::string>& parts);

}  // namespace ssm::directory
