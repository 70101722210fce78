// Online revocation status of one certificate given its issuer: OCSP through the responder named
// in authorityInfoAccess (RFC 6960), then CRLs from the cRLDistributionPoints URIs (RFC 5280
// §4.2.1.13), each answer verified with GnuTLS and cached in memory until its nextUpdate.
// SECURITY: URLs, responses and CRLs are untrusted; only answers signed by the issuer (or, for
// OCSP, by a responder certificate the issuer gave id-kp-OCSPSigning) and inside their
// thisUpdate/nextUpdate window count. Anything else is "no answer" (RevocationStatus::Unknown).
//
// Order (documented in ssm-milter.toml(5) by the lead): OCSP first because it is small and
// current; when it gives no answer (no URL, unreachable, unsigned, stale, "unknown"), each CRL
// distribution point in turn. Limits: no delta CRLs, no indirect CRLs (the CRL issuer must be the
// certificate's issuer), only fullName URIs, no on-disk cache (a restart refetches).
#pragma once
#include <ctime>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "pki/certificate.h"
#include "pki/http_fetcher.h"

namespace ssm::pki {

struct OnlineRevocationConfig {
    bool ocsp = true;                      // [pki] ocsp
    bool crl_distribution_points = true;   // [pki] crl_distribution_points
    FetchLimits limits;                    // [pki] fetch_timeout, fetch_connect_timeout, max_crl_size
    bool ocsp_nonce = true;                // send a nonce; a response that echoes another one fails
    std::time_t clock_skew = 300;          // seconds of tolerance on thisUpdate/nextUpdate
    // Answers without nextUpdate are cached this long (0: not cached).
    std::time_t cache_without_next_update = 0;
    // After a URL gave no answer, it is not asked again for this long (keeps a dead responder
    // from costing a timeout per message).
    std::time_t failure_retry_after = 60;
    std::size_t max_cache_entries = 10000;  // per cache; the whole cache is dropped beyond it
};

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

// OCSP for one certificate: request with GnuTLS (SHA-1 CertID as RFC 5019 profiles; optional
// nonce), POST to every OCSP URI of the certificate's AIA until one answers validly.
class OcspClient {
public:
    OcspClient(std::shared_ptr<const HttpFetcher> fetcher, OnlineRevocationConfig config);
    RevocationAnswer check(const Certificate& cert, const Certificate& issuer, std::time_t now) const;
    std::size_t cache_size() const { return m_cache.size(); }

private:
    RevocationAnswer ask(const std::string& url, const Certificate& cert, const Certificate& issuer,
                         std::time_t now, std::time_t& expires) const;

    std::shared_ptr<const HttpFetcher> m_fetcher;
    OnlineRevocationConfig m_config;
    ExpiringCache<RevocationAnswer> m_cache;  // key: issuer key id + serial
    ExpiringCache<bool> m_failed;             // URLs that recently gave no answer
};

// A CRL fetched from a distribution point, after its signature and issuer were checked.
struct FetchedCrl {
    std::vector<Bytes> revoked_serials;  // sorted, leading zero octets removed
    std::time_t this_update = 0;
    std::time_t next_update = -1;  // -1: none
};

class CrlDistributionClient {
public:
    CrlDistributionClient(std::shared_ptr<const HttpFetcher> fetcher, OnlineRevocationConfig config);
    RevocationAnswer check(const Certificate& cert, const Certificate& issuer, std::time_t now) const;
    std::size_t cache_size() const { return m_cache.size(); }

private:
    std::optional<FetchedCrl> fetch(const std::string& url, const Certificate& issuer, std::time_t now,
                                    std::string& why) const;

    std::shared_ptr<const HttpFetcher> m_fetcher;
    OnlineRevocationConfig m_config;
    ExpiringCache<std::shared_ptr<const FetchedCrl>> m_cache;  // key: URL + issuer key id
    ExpiringCache<bool> m_failed;
};

// OCSP, then CRL distribution points. Thread-safe.
class RevocationChecker {
public:
    RevocationChecker(std::shared_ptr<const HttpFetcher> fetcher, OnlineRevocationConfig config);
    RevocationAnswer check(const Certificate& cert, const Certificate& issuer, std::time_t now) const;
    const OcspClient& ocsp() const { return m_ocsp; }
    const CrlDistributionClient& crls() const { return m_crls; }

private:
    OnlineRevocationConfig m_config;
    OcspClient m_ocsp;
    CrlDistributionClient m_crls;
};

// The OCSP URIs of a certificate's authorityInfoAccess, and the URIs of its
// cRLDistributionPoints (only fetchable http:// ones).
std::vector<std::string> ocsp_urls(const Certificate& cert);
std::vector<std::string> crl_distribution_urls(const Certificate& cert);

}  // namespace ssm::pki
