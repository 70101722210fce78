// CRLs from distribution points and the OCSP-then-CRL order (see revocation.h). SECURITY: a
// fetched CRL is untrusted bytes until GnuTLS verified its signature with the certificate's
// issuer and its issuer name matched; only then are its serials believed.
#include "pki/revocation.h"

#include <algorithm>
#include <array>
#include <utility>

#include <gnutls/gnutls.h>

namespace ssm::pki {

namespace {

class CrlHandle {
public:
    CrlHandle() { m_ok = gnutls_x509_crl_init(&m_crl) >= 0; }
    ~CrlHandle()
    {
        if (m_crl) gnutls_x509_crl_deinit(m_crl);
    }
    CrlHandle(const CrlHandle&) = delete;
    CrlHandle& operator=(const CrlHandle&) = delete;
    bool ok() const { return m_ok; }
    gnutls_x509_crl_t get() const { return m_crl; }

private:
    gnutls_x509_crl_t m_crl = nullptr;
    bool m_ok = false;
};

class CrlIter {
public:
    CrlIter() = default;
    ~CrlIter()
    {
        if (it) gnutls_x509_crl_iter_deinit(it);
    }
    CrlIter(const CrlIter&) = delete;
    CrlIter& operator=(const CrlIter&) = delete;
    gnutls_x509_crl_iter_t it = nullptr;
};

Bytes strip_leading_zeros(const unsigned char* p, std::size_t n)
{
    while (n > 1 && *p == 0) ++p, --n;
    return Bytes(p, p + n);
}

std::string key_id_hex(const Certificate& c)
{
    std::array<unsigned char, 64> id{};
    std::size_t n = id.size();
    if (gnutls_x509_crt_get_key_id(c.get(), 0, id.data(), &n) < 0) return {};
    return to_hex(ByteView(id.data(), n));
}

std::optional<Bytes> serial_of(const Certificate& c)
{
    std::array<unsigned char, 64> s{};
    std::size_t n = s.size();
    if (gnutls_x509_crt_get_serial(c.get(), s.data(), &n) < 0) return std::nullopt;
    return strip_leading_zeros(s.data(), n);
}

}  // namespace

std::vector<std::string> crl_distribution_urls(const Certificate& cert)
{
    std::vector<std::string> out;
    for (unsigned seq = 0; seq < 16; ++seq) {
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
                                             OnlineRevocationConfig config)
    : m_fetcher(std::move(fetcher)), m_config(std::move(config))
{
}

std::optional<FetchedCrl> CrlDistributionClient::fetch(const std::string& url, const Certificate& issuer,
                                                       std::time_t now, std::string& why) const
{
    const std::string where = "CRL " + url;
    auto body = m_fetcher->get(url, m_config.limits);
    if (!body) {
        if (m_config.failure_retry_after > 0)
            m_failed.put(url, true, now + m_config.failure_retry_after, m_config.max_cache_entries);
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
    if (!gnutls_x509_crl_check_issuer(crl.get(), issuer.get())) {
        why = where + ": issued by another CA (indirect CRLs are not supported)";
        return std::nullopt;
    }
    gnutls_x509_crt_t ca = issuer.get();
    unsigned status = 0;
    const unsigned time_bits = GNUTLS_CERT_EXPIRED | GNUTLS_CERT_NOT_ACTIVATED |
                               GNUTLS_CERT_REVOCATION_DATA_SUPERSEDED |
                               GNUTLS_CERT_REVOCATION_DATA_ISSUED_IN_FUTURE;
    const int rc = gnutls_x509_crl_verify(crl.get(), &ca, 1, GNUTLS_VERIFY_DISABLE_TIME_CHECKS, &status);
    if (rc < 0 || (status & ~(time_bits | GNUTLS_CERT_INVALID)) != 0 ||
        ((status & GNUTLS_CERT_INVALID) && !(status & time_bits))) {
        why = where + ": signature does not verify with the issuer";
        return std::nullopt;
    }
    FetchedCrl out;
    out.this_update = gnutls_x509_crl_get_this_update(crl.get());
    out.next_update = gnutls_x509_crl_get_next_update(crl.get());
    CrlIter iter;
    for (;;) {
        std::array<unsigned char, 64> serial{};
        std::size_t n = serial.size();
        std::time_t when = 0;
        const int r = gnutls_x509_crl_iter_crt_serial(crl.get(), &iter.it, serial.data(), &n, &when);
        if (r == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) break;
        if (r < 0) {
            why = where + ": unreadable revoked-certificate entry";
            return std::nullopt;
        }
        out.revoked_serials.push_back(strip_leading_zeros(serial.data(), n));
    }
    std::sort(out.revoked_serials.begin(), out.revoked_serials.end());
    return out;
}

RevocationAnswer CrlDistributionClient::check(const Certificate& cert, const Certificate& issuer,
                                              std::time_t now) const
{
    RevocationAnswer answer;
    const auto urls = crl_distribution_urls(cert);
    if (urls.empty()) {
        answer.detail = "no CRL distribution point";
        return answer;
    }
    const auto serial = serial_of(cert);
    if (!serial) {
        answer.detail = "unreadable serial number";
        return answer;
    }
    const std::string issuer_id = key_id_hex(issuer);
    for (const auto& url : urls) {
        const std::string where = "CRL " + url;
        const std::string key = url + "|" + issuer_id;
        std::shared_ptr<const FetchedCrl> crl;
        bool cached = false;
        if (auto hit = m_cache.find(key, now)) {
            crl = *hit;
            cached = true;
        } else if (m_failed.find(url, now)) {
            answer.detail += (answer.detail.empty() ? "" : "; ") + where + ": no answer recently";
            continue;
        } else {
            std::string why;
            auto fetched = fetch(url, issuer, now, why);
            if (!fetched) {
                answer.detail += (answer.detail.empty() ? "" : "; ") + why;
                continue;
            }
            crl = std::make_shared<const FetchedCrl>(std::move(*fetched));
            std::time_t expires = crl->next_update != -1 ? crl->next_update
                                  : m_config.cache_without_next_update > 0
                                      ? now + m_config.cache_without_next_update
                                      : -1;
            if (expires != -1) m_cache.put(key, crl, expires, m_config.max_cache_entries);
        }
        const bool listed = std::binary_search(crl->revoked_serials.begin(), crl->revoked_serials.end(), *serial);
        // A stale CRL still proves a revocation, but not that the certificate is good now.
        const bool current = crl->this_update <= now + m_config.clock_skew &&
                             (crl->next_update == -1 || crl->next_update + m_config.clock_skew >= now);
        if (listed) {
            answer.status = RevocationStatus::Revoked;
            answer.source = where;
            answer.detail = "listed in the CRL";
            answer.from_cache = cached;
            return answer;
        }
        if (current) {
            answer.status = RevocationStatus::Good;
            answer.source = where;
            answer.detail.clear();
            answer.from_cache = cached;
            return answer;
        }
        answer.detail += (answer.detail.empty() ? "" : "; ") + where + ": outside its validity window";
    }
    return answer;
}

RevocationChecker::RevocationChecker(std::shared_ptr<const HttpFetcher> fetcher, OnlineRevocationConfig config)
    : m_config(config), m_ocsp(fetcher, config), m_crls(std::move(fetcher), std::move(config))
{
}

RevocationAnswer RevocationChecker::check(const Certificate& cert, const Certificate& issuer, std::time_t now) const
{
    std::string why;
    if (m_config.ocsp) {
        RevocationAnswer a = m_ocsp.check(cert, issuer, now);
        if (a.status != RevocationStatus::Unknown) return a;
        why = a.detail;
    }
    if (m_config.crl_distribution_points) {
        RevocationAnswer a = m_crls.check(cert, issuer, now);
        if (a.status != RevocationStatus::Unknown) return a;
        why += (why.empty() ? "" : "; ") + a.detail;
    }
    RevocationAnswer none;
    none.detail = why.empty() ? "online revocation checks are off" : why;
    return none;
}

}  // namespace ssm::pki
