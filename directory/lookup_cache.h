// The persistent lookup cache (PRODUCT §6) in front of the remote sources (LDAP): answers are
// kept in LMDB (database "cache" of the [directory] cache folder, shared with the harvest
// store) so every worker thread and every restart sees them.
//   - a positive answer (certificates found) is fresh for positive_ttl, a negative one (none)
//     for negative_ttl; an expired entry is looked up again;
//   - stale-if-error: when the source throws DirectoryUnavailable, a positive entry that
//     expired less than stale_limit ago is answered instead (logged as a warning), so a
//     directory outage does not stop mail to known partners; without one the error propagates
//     (451 4.7.1). An expired negative entry never stands in: "no certificate" would turn an
//     outage into a permanent 550 for a partner who has published a certificate since. For
//     down_backoff after a DirectoryUnavailable, entries that may stand in are answered without
//     asking the source again (a directory that times out would otherwise cost every such
//     lookup a full timeout);
//   - single flight: concurrent lookups of one key in this process wait for one search and
//     all get its result, or its exception;
//   - an answer the source's own limits cut (LookupAnswer::cut: LDAP values dropped, more
//     entries than max_entries) is handed to this lookup and its waiters, cut mark included,
//     and never stored: the next lookup asks the source again, and an entry stored before
//     stays as it was.
// What is cached are the candidates (DER), not the choice: validity, revocation and the choice
// are evaluated afresh on every use. SMIMECapabilities are not kept (directories have none).
// The certificates of a record are turned into candidates through a CertificateMemo (parsed
// DER + facts in memory, keyed by the DER itself): a hit reads LMDB as before, and parses only
// certificates it has not seen lately. The memo never decides what a lookup answers: the LMDB
// record does, so TTLs, flushes (also from ssmctl, another process) and stale-if-error work
// exactly as without it.
//
// Record format, key = the inner source's cache_key() (its name(), for LDAP with a digest of
// the servers, base, filter, bind DN and limits: two directories may serve one domain, two
// entries may share a server; for DNS SMIMEA with a digest of the forwarder and the trust
// anchors, which decide what validates) + '\0' + address_key(address), or the address with its local part as written
// for a source that tells spellings apart (exact_local_part), value = version byte 0x01, then
//   fetched_at  8 bytes, big-endian two's complement seconds since the epoch (0..2^40)
//   source_len  2 bytes big-endian (0..max_source_size), then the source name (UTF-8)
//   count       1 byte (0..max_certificates; 0 is a negative answer)
//   count times: cert_len 4 bytes big-endian (1..pki::max_certificate_size), then DER
// A value that does not parse exactly (trailing bytes included) is a miss. A key longer than
// LMDB's key limit is not stored (the lookup still goes through single flight).
// SECURITY: cached records are read defensively (a corrupt record is a miss, never trusted);
// the certificates in them are as untrusted as the directory's answer was.
#pragma once
#include <chrono>
#include <ctime>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "directory/certificate_memo.h"
#include "directory/certificate_source.h"
#include "directory/lmdb.h"

namespace ssm::directory {

struct CacheSettings {
    std::chrono::seconds positive_ttl{86400};
    std::chrono::seconds negative_ttl{3600};
    std::chrono::seconds stale_limit{7 * 86400};  // longest an expired entry may stand in
    std::chrono::seconds down_backoff{30};         // see above
};

// One certificate of a cached answer.
struct CachedCertificate {
    Bytes der;
    bool dane_ee = false;  // CertificateCandidate::dane_ee
};

// One cached answer as stored.
struct CacheEntry {
    std::time_t fetched_at = 0;
    std::string source;                          // the source that answered (a candidate's source)
    std::vector<CachedCertificate> certificates;  // empty: a negative answer
};

class CachingSource final : public CertificateSource {
public:
    static constexpr std::size_t max_certificates = 32;  // more in one answer: the rest dropped,
                                                         // and the answer is cut (not stored)
    static constexpr std::size_t max_source_size = 1024;

    using Clock = std::function<std::time_t()>;                 // default: std::time
    using Serves = std::function<bool(const EmailAddress&)>;    // default: every address

    // `serves` says which addresses the inner source answers at all (LdapSource::serves):
    // others get an empty answer without cache traffic, so the cache does not fill with
    // negative entries for domains the directory has nothing to do with. `memo` may be shared
    // with other sources (null: a memo of this source's own). `exact_local_part`: the inner
    // source tells local-part spellings apart (DNS SMIMEA), so each has its own entry;
    // otherwise (LDAP) Alice@ and alice@ share one.
    CachingSource(std::shared_ptr<lmdb::Environment> env, std::shared_ptr<CertificateSource> inner,
                  CacheSettings settings, Serves serves = {}, Clock clock = {},
                  std::shared_ptr<CertificateMemo> memo = nullptr, bool exact_local_part = false);
    ~CachingSource() override;
    CachingSource(const CachingSource&) = delete;
    CachingSource& operator=(const CachingSource&) = delete;

    // Fresh entry: its candidates. Otherwise one lookup of the inner source per key at a time
    // (see above). Thread-safe.
    LookupAnswer answer(const EmailAddress& address) override;
    std::vector<CertificateCandidate> lookup(const EmailAddress& address) override;  // answer()'s candidates
    std::string name() const override;  // the inner source's name

    // The stored entry for the address, fresh or not (ssmctl cert lookup); nullopt when absent
    // or corrupt.
    std::optional<CacheEntry> peek(const EmailAddress& address) const;
    // Whether lookup would answer the entry without asking the source (within its TTL); an
    // entry that is not may still stand in while the source is down (stale-if-error).
    bool is_fresh(const CacheEntry& entry) const;
    // Whether the inner source answers for the address at all.
    bool serves(const EmailAddress& address) const;

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

// Removing entries, from ssmctl (another process: LMDB is multi-process safe). An address's
// entries of every source are removed. Return whether the address had an entry / how many
// entries were removed. Throw ssm::Error on storage failure.
bool flush_cache_entry(lmdb::Environment& env, const EmailAddress& address);
std::size_t flush_cache(lmdb::Environment& env);

}  // namespace ssm::directory
