// Online revocation status of one certificate given its issuer: OCSP through the responder named
// in authorityInfoAccess (RFC 6960), then CRLs from the cRLDistributionPoints URIs (RFC 5280
// §4.2.1.13), each answer verified with GnuTLS and cached in memory until its nextUpdate.
// SECURITY: URLs, responses and CRLs are untrusted; only answers signed by the issuer (or, for
// OCSP, by a responder certificate the issuer gave id-kp-OCSPSigning, valid, and not revoked
// by CRL unless it carries id-pkix-ocsp-nocheck), about the certificate (OCSP: its CertID's
// issuer name and key hashes and serial) and inside their thisUpdate/nextUpdate window count
// (without nextUpdate: a day after thisUpdate). Anything else is "no answer"
// (RevocationStatus::Unknown), as is every check left once the message's time budget is spent.
//
// Order (documented in ssm-milter.toml(5) by the lead): OCSP first because it is small and
// current; when it gives no answer (no URL, unreachable, unsigned, stale, "unknown"), each CRL
// distribution point in turn, with the delta CRLs its freshestCRL or the certificate's names. A
// fetched CRL goes through the scope and entry rules of loaded ones (pki/crl_set.h): indirect
// CRLs (signed by the CRL issuer a distribution point's cRLIssuer names, whose certificate the
// trust store has and validates), certificateIssuer entries, delta CRLs (removeFromCRL).
// Limits: only fullName http URIs, no on-disk cache (a restart refetches). The in-memory caches
// may outlive their checker: a trust store made for a reload takes them over when nothing they
// depend on changed (RevocationCaches, TrustStoreConfig::replaces).
#pragma once
#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "pki/certificate.h"
#include "pki/crl_set.h"
#include "pki/http_fetcher.h"
#include "pki/revocation_budget.h"

namespace ssm::pki {

struct OnlineRevocationConfig {
    bool ocsp = true;                      // [pki] ocsp
    bool crl_distribution_points = true;   // [pki] crl_distribution_points
    FetchLimits limits;                    // [pki] fetch_timeout, max_crl_size
    bool ocsp_nonce = true;                // send a nonce; a response that echoes another one fails
    std::time_t clock_skew = 300;          // seconds of tolerance on thisUpdate/nextUpdate
    // Answers without nextUpdate are cached this long (0: not cached).
    std::time_t cache_without_next_update = 0;
    // An OCSP response without nextUpdate ("newer information is available all the time",
    // RFC 6960 §4.2.2.1), or a fetched CRL without one (which RFC 5280 §5.1.2.5 requires of
    // conforming CAs), counts only this long after its thisUpdate (counts_until). Without a
    // bound, one captured before a revocation (without our nonce: the nonce is optional for
    // responders; a CRL has none) could be replayed over plain HTTP for ever.
    std::time_t max_age_without_next_update = 86400;
    // After a URL gave no answer, it is not asked again for this long (keeps a dead responder
    // from costing a timeout per message).
    std::time_t failure_retry_after = 60;
    std::size_t max_cache_entries = 10000;  // per cache; the whole cache is dropped beyond it
    // [pki] revocation_time_budget: a validation's (a message's) time for all its fetches.
    std::chrono::milliseconds time_budget{20000};
};

// Until when an OCSP answer or a fetched CRL counts (before the clock skew): its nextUpdate, or
// max_age_without_next_update after its thisUpdate when it has none (-1); 0 when thisUpdate
// is unreadable (-1) and there is no nextUpdate.
std::time_t counts_until(std::time_t this_update, std::time_t next_update, const OnlineRevocationConfig& config);

enum class RevocationStatus { Good, Revoked, Unknown };

struct RevocationAnswer {
    RevocationStatus status = RevocationStatus::Unknown;
    std::string source;  // "OCSP http://..." or "CRL http://..."; empty when Unknown
    std::string detail;  // why Unknown (each source tried), or the revocation time/reason
    bool from_cache = false;
};

// Serialised cache of answers with an expiry; entries past it are treated as absent.
template <typename Value>
class ExpiringCache {
public:
    std::optional<Value> find(const std::string& key, std::time_t now) const
    {
        std::lock_guard lock(m_mutex);
        auto it = m_entries.find(key);
        if (it == m_entries.end() || now > it->second.second) return std::nullopt;
        return it->second.first;
    }
    // const: the cache is internally synchronised state of otherwise immutable clients.
    void put(const std::string& key, Value v, std::time_t expires, std::size_t max_entries) const
    {
        std::lock_guard lock(m_mutex);
        if (m_entries.size() >= max_entries) m_entries.clear();
        m_entries.insert_or_assign(key, std::make_pair(std::move(v), expires));
    }
    std::size_t size() const
    {
        std::lock_guard lock(m_mutex);
        return m_entries.size();
    }

private:
    mutable std::mutex m_mutex;
    mutable std::map<std::string, std::pair<Value, std::time_t>> m_entries;
};

// The OCSP client's answers and the responder URLs that recently gave none.
struct OcspCache {
    ExpiringCache<RevocationAnswer> answers;  // key: issuer key id + serial
    ExpiringCache<bool> failed;               // URLs that recently gave no answer
};

// The revocation status of a delegated OCSP responder's certificate, from CRLs only (asking
// OCSP about the responder could recurse); null: it cannot be had.
using ResponderStatus = std::function<RevocationAnswer(const Certificate& responder)>;

// OCSP for one certificate: request with GnuTLS (SHA-1 CertID as RFC 5019 profiles; optional
// nonce), POST to every OCSP URI of the certificate's AIA until one answers validly. A response
// signed by a delegated responder (pki/ocsp_responder.h) counts only when that responder is
// valid at `now`, has id-kp-OCSPSigning, was issued by the issuer, and either carries
// id-pkix-ocsp-nocheck or `responder_status` says it is not revoked (RFC 6960 §4.2.2.2.1).
class OcspClient {
public:
    // `cache`: one to share (a predecessor's, see RevocationCaches); null: a new, empty one.
    OcspClient(std::shared_ptr<const HttpFetcher> fetcher, OnlineRevocationConfig config,
               std::shared_ptr<OcspCache> cache = nullptr);
    RevocationAnswer check(const Certificate& cert, const Certificate& issuer, std::time_t now,
                           const ResponderStatus& responder_status = {},
                           const RevocationBudget* budget = nullptr) const;
    std::size_t cache_size() const { return m_cache->answers.size(); }
    const std::shared_ptr<OcspCache>& cache() const { return m_cache; }

private:
    RevocationAnswer ask(const std::string& url, const Certificate& cert, const Certificate& issuer,
                         std::time_t now, const ResponderStatus& responder_status, const RevocationBudget* budget,
                         std::time_t& expires) const;

    std::shared_ptr<const HttpFetcher> m_fetcher;
    OnlineRevocationConfig m_config;
    std::shared_ptr<OcspCache> m_cache;  // never null; internally synchronised
};

// What a fetched CRL signed by another than the certificate's issuer (an indirect CRL, RFC 5280
// §5.2.5) needs from the trust store: its certificates of the CRL's issuer name, and whether one
// of them may speak now (its own path and status, §6.3.3 (f)). Without it such a CRL is refused.
struct CrlSigners {
    // By subject Name (DER), compared as RFC 5280 §7.1 asks (base/name_compare.h).
    std::function<std::vector<const Certificate*>(ByteView name)> named;
    std::function<bool(const Certificate& signer, std::string& why)> valid;
};

// A CRL fetched from a distribution point or a freshestCRL point, after its signature was
// checked; its scope and entries are applied as for loaded CRLs (crl.entries_ours is set).
struct FetchedCrl {
    LoadedCrl crl;  // crl.next_update: counts_until (a day after thisUpdate without nextUpdate)
    std::time_t this_update = 0;
    bool without_next_update = false;  // the CRL has none: crl.next_update is our bound
    Bytes signer_der;  // empty: the certificate's issuer signed it; else a CrlSigners certificate
};

// The CRLs fetched from distribution points and the URLs that recently gave none.
struct CrlCache {
    ExpiringCache<std::shared_ptr<const FetchedCrl>> crls;  // key: URL + issuer key id
    ExpiringCache<bool> failed;
};

class CrlDistributionClient {
public:
    // `cache`: one to share (a predecessor's, see RevocationCaches); null: a new, empty one.
    CrlDistributionClient(std::shared_ptr<const HttpFetcher> fetcher, OnlineRevocationConfig config,
                          std::shared_ptr<CrlCache> cache = nullptr);
    // `signers`: null refuses indirect CRLs. `budget`: null, no overall bound.
    RevocationAnswer check(const Certificate& cert, const Certificate& issuer, std::time_t now,
                           const CrlSigners* signers = nullptr, const RevocationBudget* budget = nullptr) const;
    std::size_t cache_size() const { return m_cache->crls.size(); }
    const std::shared_ptr<CrlCache>& cache() const { return m_cache; }

private:
    // From the cache, or fetched (and cached until its nextUpdate); null with `why` otherwise.
    std::shared_ptr<const FetchedCrl> get(const std::string& url, const Certificate& issuer, const CrlSigners* signers,
                                          std::time_t now, const RevocationBudget* budget, bool& cached,
                                          std::string& why) const;
    std::optional<FetchedCrl> fetch(const std::string& url, const Certificate& issuer, const CrlSigners* signers,
                                    std::time_t now, const RevocationBudget* budget, std::string& why) const;
    // Whether the CRL's signer may speak now (the issuer always; a CrlSigners one when valid).
    bool signer_valid(const FetchedCrl& crl, const CrlSigners* signers, std::string& why) const;

    std::shared_ptr<const HttpFetcher> m_fetcher;
    OnlineRevocationConfig m_config;
    std::shared_ptr<CrlCache> m_cache;  // never null; internally synchronised
};

// What a checker fetched, handed from the trust store of one configuration to that of the next
// (a reload) so that a reload which changes a rule does not refetch every CRL (one of a big PKI
// may be tens of megabytes) and ask every OCSP responder again. Only valid while what the
// answers were verified against is the same: TrustStore::revocation_cache_key decides.
struct RevocationCaches {
    std::shared_ptr<OcspCache> ocsp;
    std::shared_ptr<CrlCache> crls;
};

// What the trust store adds to an online check of one certificate of a path.
struct RevocationContext {
    const CrlSigners* signers = nullptr;  // null: indirect CRLs are refused
    // The store's own CRLs (the crls folder) asked first about a delegated OCSP responder's
    // certificate (issued by the same issuer): Revoked, Good (settled) or Unknown. Null: none.
    std::function<RevocationAnswer(const Certificate&)> loaded_crls;
    const RevocationBudget* budget = nullptr;  // null: no overall bound
};

// The text an answer's detail holds when the budget stopped a fetch.
inline constexpr const char* kBudgetSpent = "revocation time budget spent";

// OCSP, then CRL distribution points. Thread-safe.
class RevocationChecker {
public:
    // `caches`: a predecessor's to continue with (each null one: new and empty).
    RevocationChecker(std::shared_ptr<const HttpFetcher> fetcher, OnlineRevocationConfig config,
                      const RevocationCaches& caches = {});
    RevocationAnswer check(const Certificate& cert, const Certificate& issuer, std::time_t now,
                           const RevocationContext& context = {}) const;
    const OcspClient& ocsp() const { return m_ocsp; }
    const CrlDistributionClient& crls() const { return m_crls; }
    RevocationCaches caches() const { return {m_ocsp.cache(), m_crls.cache()}; }

private:
    OnlineRevocationConfig m_config;
    OcspClient m_ocsp;
    CrlDistributionClient m_crls;
};

// The OCSP URIs of a certificate's authorityInfoAccess, and the URIs of its
// cRLDistributionPoints: only fetchable http:// ones, and only the first
// kMaxUrlsPerCertificate of each. Each costs up to fetch_timeout when its server stalls, and
// a partner CA (or one compromised) names what it likes: sixteen of each would hold a message
// for minutes, past the MTA's milter timeout.
inline constexpr std::size_t kMaxUrlsPerCertificate = 4;
std::vector<std::string> ocsp_urls(const Certificate& cert);
std::vector<std::string> crl_distribution_urls(const Certificate& cert);

}  // namespace ssm::pki
