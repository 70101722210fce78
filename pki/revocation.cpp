// CRLs from distribution points and the OCSP-then-CRL order (see revocation.h). SECURITY: a
// fetched CRL is untrusted bytes until GnuTLS verified its signature with the certificate's
// issuer, or with a certificate of the trust store's that the store then validates (an indirect
// CRL's issuer); only then are its entries believed, and only as far as its scope goes.
#include "pki/revocation.h"

#include <algorithm>
#include <array>
#include <span>
#include <utility>

#include <gnutls/gnutls.h>

#include "base/gnutls_handles.h"

namespace ssm::pki {

namespace {

using CrlHandle = GnutlsOwned<gnutls_x509_crl_t, gnutls_x509_crl_init, gnutls_x509_crl_deinit>;

void add_why(std::string& detail, const std::string& why)
{
    detail += (detail.empty() ? "" : "; ") + why;
}

constexpr std::size_t kMaxDeltaUrls = 4;  // freshestCRL URIs tried per base CRL

}  // namespace

std::time_t counts_until(std::time_t this_update, std::time_t next_update, const OnlineRevocationConfig& config)
{
    if (next_update != -1) return next_update;
    if (this_update == -1) return 0;
    return this_update + config.max_age_without_next_update;
}

std::vector<std::string> crl_distribution_urls(const Certificate& cert)
{
    std::vector<std::string> out;
    for (unsigned seq = 0; seq < 16 && out.size() < kMaxUrlsPerCertificate; ++seq) {
        std::array<char, 2048> buf{};
        std::size_t size = buf.size();
        unsigned reasons = 0, critical = 0;
        const int rc = gnutls_x509_crt_get_crl_dist_points(cert.get(), seq, buf.data(), &size, &reasons, &critical);
        if (rc == GNUTLS_E_SHORT_MEMORY_BUFFER) continue;  // an absurdly long name: skipped
        if (rc < 0) break;
        if (rc != GNUTLS_SAN_URI) continue;
        // A distribution point limited to some reasons does not cover them all: skipped (no
        // partitioned CRLs).
        if (reasons != 0) continue;
        std::string url(buf.data(), std::min(size, buf.size()));
        if (is_fetchable_url(url)) out.push_back(std::move(url));
    }
    return out;
}

CrlDistributionClient::CrlDistributionClient(std::shared_ptr<const HttpFetcher> fetcher,
                                             OnlineRevocationConfig config, std::shared_ptr<CrlCache> cache)
    : m_fetcher(std::move(fetcher)), m_config(std::move(config)),
      m_cache(cache ? std::move(cache) : std::make_shared<CrlCache>())
{
}

std::optional<FetchedCrl> CrlDistributionClient::fetch(const std::string& url, const Certificate& issuer,
                                                       const CrlSigners* signers, std::time_t now,
                                                       const RevocationBudget* budget, std::string& why) const
{
    const std::string where = "CRL " + url;
    if (budget && budget->spent()) {
        why = where + ": not fetched, " + kBudgetSpent;
        return std::nullopt;
    }
    const bool cut = budget && budget->cuts(m_config.limits);
    auto body = m_fetcher->get(url, budget ? budget->cut(m_config.limits) : m_config.limits);
    if (!body) {
        // A fetch the budget cut short says nothing about its server.
        if (cut) {
            why = where + ": no answer, " + kBudgetSpent;
            return std::nullopt;
        }
        if (m_config.failure_retry_after > 0)
            m_cache->failed.put(url, true, now + m_config.failure_retry_after, m_config.max_cache_entries);
        why = where + ": no answer";
        return std::nullopt;
    }
    CrlHandle crl;
    const gnutls_datum_t d{body->data(), static_cast<unsigned>(body->size())};
    const bool pem = as_chars(*body).find("-----BEGIN X509 CRL") != std::string_view::npos;
    if (!crl.ok() || gnutls_x509_crl_import(crl.get(), &d, pem ? GNUTLS_X509_FMT_PEM : GNUTLS_X509_FMT_DER) < 0) {
        why = where + ": not a CRL";
        return std::nullopt;
    }
    gnutls_datum_t issuer_dn{nullptr, 0};
    if (gnutls_x509_crl_get_raw_issuer_dn(crl.get(), &issuer_dn) < 0) {
        why = where + ": unreadable issuer name";
        return std::nullopt;
    }
    FetchedCrl out;
    out.crl.set_issuer(ByteView(issuer_dn.data, issuer_dn.size));
    gnutls_free(issuer_dn.data);
    // The certificate's issuer, or a certificate of the store's by the CRL's issuer name whose
    // key verifies it (an indirect CRL issuer's, or the issuer's separate CRL-signing key or
    // other key after a rollover); which one is kept, for its validity is asked at each use.
    if (!crl_signed_by(crl.get(), issuer)) {
        const Certificate* signer = nullptr;
        if (signers && signers->named)
            for (const Certificate* c : signers->named(out.crl.issuer_der))
                if (!signer && crl_signed_by(crl.get(), *c)) signer = c;
        if (!signer) {
            why = where + (crl_issuer_is(crl.get(), issuer)
                               ? ": signature does not verify with the issuer"
                               : ": issued by neither the certificate's issuer nor a known CRL issuer");
            return std::nullopt;
        }
        out.signer_der = signer->der();
    }
    out.this_update = gnutls_x509_crl_get_this_update(crl.get());
    // Without nextUpdate (a non-conforming CA) the CRL is current for a bounded time only, as an
    // OCSP answer without one: crls_settle would otherwise take it as current for ever.
    const std::time_t next_update = gnutls_x509_crl_get_next_update(crl.get());
    out.without_next_update = next_update == -1;
    out.crl.next_update = counts_until(out.this_update, next_update, m_config);
    out.crl.scope = crl_scope_of(crl.get());
    auto entries = read_crl_entries(crl.get());
    if (!entries) {
        why = where + ": unreadable revoked-certificate entry";
        return std::nullopt;
    }
    out.crl.entries = std::move(*entries);
    out.crl.entries_ours = true;  // no GnuTLS list here: crls_revoke applies every entry
    return out;
}

std::shared_ptr<const FetchedCrl> CrlDistributionClient::get(const std::string& url, const Certificate& issuer,
                                                             const CrlSigners* signers, std::time_t now,
                                                             const RevocationBudget* budget, bool& cached,
                                                             std::string& why) const
{
    const std::string key = url + "|" + key_id_hex(issuer);
    cached = false;
    if (auto hit = m_cache->crls.find(key, now)) {
        cached = true;
        return *hit;
    }
    if (m_cache->failed.find(url, now)) {
        why = "CRL " + url + ": no answer recently";
        return nullptr;
    }
    auto fetched = fetch(url, issuer, signers, now, budget, why);
    if (!fetched) return nullptr;
    auto crl = std::make_shared<const FetchedCrl>(std::move(*fetched));
    // Without nextUpdate: not cached unless configured, and never past its bound (refetched).
    const std::time_t next = crl->crl.next_update;
    const std::time_t expires = !crl->without_next_update ? next
                                : m_config.cache_without_next_update > 0
                                    ? std::min(now + m_config.cache_without_next_update, next + m_config.clock_skew)
                                    : -1;
    if (expires != -1) m_cache->crls.put(key, crl, expires, m_config.max_cache_entries);
    return crl;
}

bool CrlDistributionClient::signer_valid(const FetchedCrl& crl, const CrlSigners* signers, std::string& why) const
{
    if (crl.signer_der.empty()) return true;  // the certificate's issuer: validated with the path
    if (!signers || !signers->named || !signers->valid) {
        why = "its signer is not the certificate's issuer";
        return false;
    }
    for (const Certificate* c : signers->named(crl.crl.issuer_der))
        if (c->der() == crl.signer_der) return signers->valid(*c, why);
    why = "its signer is no longer known";
    return false;
}

RevocationAnswer CrlDistributionClient::check(const Certificate& cert, const Certificate& issuer, std::time_t now,
                                              const CrlSigners* signers, const RevocationBudget* budget) const
{
    RevocationAnswer answer;
    const auto urls = crl_distribution_urls(cert);
    if (urls.empty()) {
        answer.detail = "no CRL distribution point";
        return answer;
    }
    std::vector<std::string> cert_delta_urls;
    for (auto& u : freshest_crl_uris(cert))
        if (is_fetchable_url(u)) cert_delta_urls.push_back(std::move(u));
    for (const auto& url : urls) {
        const std::string where = "CRL " + url;
        bool cached = false;
        std::string why;
        const auto base = get(url, issuer, signers, now, budget, cached, why);
        if (!base) {
            add_why(answer.detail, why);
            continue;
        }
        if (!signer_valid(*base, signers, why)) {
            add_why(answer.detail, where + ": " + why);
            continue;
        }
        // The base with the delta CRLs named by the certificate's freshestCRL and the base's
        // (RFC 5280 §5.2.6): crl_set decides which delta applies (same issuer and scope, base
        // number, newest current one). A delta that cannot be had leaves the base speaking alone.
        std::vector<std::shared_ptr<const FetchedCrl>> deltas;
        if (!base->crl.scope.delta) {
            std::vector<std::string> delta_urls = cert_delta_urls;
            for (const auto& u : base->crl.scope.freshest_crl_uris)
                if (is_fetchable_url(u) && std::find(delta_urls.begin(), delta_urls.end(), u) == delta_urls.end())
                    delta_urls.push_back(u);
            if (delta_urls.size() > kMaxDeltaUrls) delta_urls.resize(kMaxDeltaUrls);
            for (const auto& delta_url : delta_urls) {
                bool delta_cached = false;
                std::string delta_why;
                const auto delta = get(delta_url, issuer, signers, now, budget, delta_cached, delta_why);
                if (!delta) {
                    add_why(answer.detail, "delta " + delta_why);
                    continue;
                }
                if (!delta->crl.scope.delta) continue;  // not a delta CRL: nothing to apply
                // RFC 5280 §6.3.3 (h): a delta is signed with the same key as its base (for
                // loaded CRLs newest_delta compares their signers; fetched ones carry none).
                if (delta->signer_der != base->signer_der) {
                    add_why(answer.detail, "delta CRL " + delta_url + ": signed by another key than its base CRL");
                    continue;
                }
                if (!signer_valid(*delta, signers, delta_why)) {
                    add_why(answer.detail, "delta CRL " + delta_url + ": " + delta_why);
                    continue;
                }
                deltas.push_back(delta);
            }
        }
        // crl_set reads a contiguous run: copies only when deltas join the base.
        std::vector<LoadedCrl> with_deltas;
        if (!deltas.empty()) {
            with_deltas.push_back(base->crl);
            for (const auto& delta : deltas) with_deltas.push_back(delta->crl);
        }
        const std::span<const LoadedCrl> crls = deltas.empty() ? std::span<const LoadedCrl>(&base->crl, 1)
                                                               : std::span<const LoadedCrl>(with_deltas);
        if (auto revoked = crls_revoke(crls, cert, now)) {
            answer.status = RevocationStatus::Revoked;
            answer.source = where;
            answer.detail = *revoked;
            answer.from_cache = cached;
            return answer;
        }
        // A CRL not yet issued, or past its nextUpdate (with the clock skew allowed), still
        // proves a revocation, but not that the certificate is good now. Signers were checked.
        const bool issued = base->this_update <= now + m_config.clock_skew;
        const auto accept_signer = [](const LoadedCrl&) { return true; };
        if (issued && crls_settle(crls, cert, read_issuer_name(cert), now - m_config.clock_skew, accept_signer)) {
            answer.status = RevocationStatus::Good;
            answer.source = where + (crls.size() > 1 ? " and its delta CRL" : "");
            answer.detail.clear();
            answer.from_cache = cached;
            return answer;
        }
        if (base->without_next_update && base->crl.next_update + m_config.clock_skew < now)
            add_why(answer.detail, where + ": CRL without nextUpdate is too old (thisUpdate " +
                                       format_time(base->this_update) + ")");
        else
            add_why(answer.detail, where + ": outside its validity window or not covering the certificate");
    }
    return answer;
}

RevocationChecker::RevocationChecker(std::shared_ptr<const HttpFetcher> fetcher, OnlineRevocationConfig config,
                                     const RevocationCaches& caches)
    : m_config(config), m_ocsp(fetcher, config, caches.ocsp), m_crls(std::move(fetcher), std::move(config), caches.crls)
{
}

RevocationAnswer RevocationChecker::check(const Certificate& cert, const Certificate& issuer, std::time_t now,
                                          const RevocationContext& context) const
{
    std::string why;
    if (m_config.ocsp) {
        // A delegated responder's own status: the store's CRLs, then the issuer's distribution
        // points (never OCSP, which could ask the same responder about itself).
        const ResponderStatus responder_status = [&](const Certificate& responder) {
            RevocationAnswer a;
            if (context.loaded_crls) {
                a = context.loaded_crls(responder);
                if (a.status != RevocationStatus::Unknown) return a;
            }
            if (m_config.crl_distribution_points) {
                RevocationAnswer fetched = m_crls.check(responder, issuer, now, context.signers, context.budget);
                if (fetched.status != RevocationStatus::Unknown) return fetched;
                a.detail += (a.detail.empty() ? "" : "; ") + fetched.detail;
            }
            if (a.detail.empty()) a.detail = "no CRL checks";
            return a;
        };
        RevocationAnswer a = m_ocsp.check(cert, issuer, now, responder_status, context.budget);
        if (a.status != RevocationStatus::Unknown) return a;
        why = a.detail;
    }
    if (m_config.crl_distribution_points) {
        RevocationAnswer a = m_crls.check(cert, issuer, now, context.signers, context.budget);
        if (a.status != RevocationStatus::Unknown) return a;
        why += (why.empty() ? "" : "; ") + a.detail;
    }
    RevocationAnswer none;
    none.detail = why.empty() ? "online revocation checks are off" : why;
    return none;
}

}  // namespace ssm::pki
