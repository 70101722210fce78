// The persistent lookup cache (PRODUCT §6) in front of the remote sources (LDAP): answers are
// kept in LMDB (database "cache" of the [directory] cache folder, shared with the harvest
// store) so every worker thread and every restart sees them.
//   - a positive answer (certificates found) is fresh for positive_ttl, a negative one (none)
//     for negative_ttl; an expired entry is looked up again;
//   - stale-if-error: when the source throws DirectoryUnavailable, an expired entry younger
//     than stale_limit is answered instead (logged), so a directory outage does not stop mail
//     to known partners; without one the error propagates (451 4.7.1);
//   - single flight: concurrent lookups of one address in this process wait for one search.
// What is cached are the candidates, not the choice: validity, revocation and the choice are
// evaluated afresh on every use.
// SECURITY: cached records are read defensively (a corrupt record is a miss, never trusted).
#pragma once
#include <chrono>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "directory/certificate_source.h"
#include "directory/lmdb.h"

namespace ssm::directory {

struct CacheSettings {
    std::chrono::seconds positive_ttl{86400};
    std::chrono::seconds negative_ttl{3600};
    std::chrono::seconds stale_limit{7 * 86400};  // longest an expired entry may stand in
};

// One cached answer as stored.
struct CacheEntry {
    std::time_t fetched_at = 0;
    std::string source;       // name() of the source that answered
    std::vector<Bytes> certificates;  // DER; empty: a negative answer
};

class CachingSource final : public CertificateSource {
public:
    CachingSource(std::shared_ptr<lmdb::Environment> env, std::shared_ptr<CertificateSource> inner,
                  CacheSettings settings);
    ~CachingSource() override;

    std::vector<CertificateCandidate> lookup(const EmailAddress& address) override;
    std::string name() const override;  // the inner source's name

    // The stored entry for the address, fresh or not (ssmctl cert lookup).
    std::optional<CacheEntry> peek(const EmailAddress& address) const;

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

// Removing entries, from ssmctl (another process: LMDB is multi-process safe).
// Returns whether the address had an entry / how many entries were removed.
bool flush_cache_entry(lmdb::Environment& env, const EmailAddress& address);
std::size_t flush_cache(lmdb::Environment& env);

}  // namespace ssm::directory
