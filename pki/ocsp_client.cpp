// OCSP client (RFC 6960) over HttpFetcher: builds the request and checks the response with
// GnuTLS. SECURITY: the responder URL comes from the untrusted certificate and the response is
// untrusted until gnutls_ocsp_resp_verify_direct (or, for RSASSA-PSS, signature_problem's own
// check) accepts its signer (the issuer itself, or a certificate issued by it with
// id-kp-OCSPSigning) and its CertID and times fit.
#include <algorithm>
#include <array>
#include <optional>
#include <string>
#include <utility>

#include <gnutls/gnutls.h>
#include <gnutls/ocsp.h>

#include "base/gnutls_datum.h"
#include "base/gnutls_handles.h"
#include "base/log.h"
#include "pki/certificate_signature.h"
#include "pki/ocsp_responder.h"
#include "pki/revocation.h"

namespace ssm::pki {

namespace {

using OcspRequest = GnutlsOwned<gnutls_ocsp_req_t, gnutls_ocsp_req_init, gnutls_ocsp_req_deinit>;
using OcspResponse = GnutlsOwned<gnutls_ocsp_resp_t, gnutls_ocsp_resp_init, gnutls_ocsp_resp_deinit>;

// A response GnuTLS refused checked once more for the RSASSA-PSS signatures GnuTLS 3.7.9 does not
// verify (pki/certificate_signature.h): the response's own, or its delegated responder's
// certificate. The signer is the one GnuTLS would take (the responder the response names among
// its certificates, else the issuer); a delegated responder must be signed by the issuer, and
// its other checks (validity, OCSPSigning, its own revocation status) follow as for any
// response (delegated_responder_problem). A delegated responder whose certificate only our
// check verifies may sign its answers with anything GnuTLS verifies (ECDSA, PKCS#1 v1.5): GnuTLS
// judges that signature with the responder as the signer (its certificate then is not checked
// again: the response names it, so it is the one GnuTLS takes). `signer_pss_key`: whether that
// signer's key is id-RSASSA-PSS (the caller has asked already; each ask exports the DER).
bool response_verifies_beyond_gnutls(gnutls_ocsp_resp_t resp, const Certificate& issuer,
                           const std::optional<Certificate>& delegated, bool signer_pss_key)
{
    gnutls_datum_t type{nullptr, 0};
    GnutlsDatum basic;
    const int rc = gnutls_ocsp_resp_get_response(resp, &type, &basic.d);
    gnutls_free(type.data);
    if (rc < 0) return false;
    if (delegated) {
        if (!signed_by(*delegated, issuer)) return false;
        unsigned verify = 0;
        if (!signer_pss_key &&
            gnutls_ocsp_resp_verify_direct(resp, delegated->get(), &verify, GNUTLS_VERIFY_DISABLE_TIME_CHECKS) >= 0 &&
            verify == 0)
            return true;
    }
    return ocsp_pss_signature_verifies(basic.view(), delegated ? *delegated : issuer);
}

// GnuTLS's refusal of a response's signature (gnutls_ocsp_verify_reason_t bits) in words.
std::string ocsp_verify_reasons(unsigned verify)
{
    static constexpr std::pair<unsigned, const char*> kReasons[] = {
        {GNUTLS_OCSP_VERIFY_SIGNER_NOT_FOUND, "signer not found"},
        {GNUTLS_OCSP_VERIFY_SIGNER_KEYUSAGE_ERROR, "signer lacks the OCSPSigning key usage"},
        {GNUTLS_OCSP_VERIFY_UNTRUSTED_SIGNER, "untrusted signer"},
        {GNUTLS_OCSP_VERIFY_INSECURE_ALGORITHM, "insecure algorithm"},
        {GNUTLS_OCSP_VERIFY_SIGNATURE_FAILURE, "bad signature"},
        {GNUTLS_OCSP_VERIFY_CERT_NOT_ACTIVATED, "signer not yet valid"},
        {GNUTLS_OCSP_VERIFY_CERT_EXPIRED, "signer expired"},
    };
    std::string out;
    for (const auto& [bit, text] : kReasons)
        if (verify & bit) out += (out.empty() ? "" : ", ") + std::string(text);
    return out.empty() ? "reason " + std::to_string(verify) : out;
}

// Why the response's signature is not its signer's, or nullopt when it is. GnuTLS's answer
// stands unless its signer's key is id-RSASSA-PSS: GnuTLS 3.7.9 verifies an OCSP signature by
// such a key with MGF1 over the signature's hash and the key's salt length, and so takes
// signatures outside the key's parameters (MGF1 over another hash than the key allows: RFC 4055
// §3.3) and refuses some within them. For such a signer response_verifies_beyond_gnutls
// decides, as check_link does for certificates. GnuTLS would judge a delegated responder's
// validity by the wall clock; responder_problem does it at the time asked
// (delegated_responder_problem).
std::optional<std::string> signature_problem(gnutls_ocsp_resp_t resp, const Certificate& issuer)
{
    unsigned verify = 0;
    const int rc = gnutls_ocsp_resp_verify_direct(resp, issuer.get(), &verify, GNUTLS_VERIFY_DISABLE_TIME_CHECKS);
    const bool by_gnutls = rc >= 0 && verify == 0;
    const auto delegated = delegated_responder(resp, issuer);
    const bool pss_key = rsassa_pss_key(delegated ? *delegated : issuer);
    if (by_gnutls && !pss_key) return std::nullopt;
    if (response_verifies_beyond_gnutls(resp, issuer, delegated, pss_key)) return std::nullopt;
    if (by_gnutls) return std::string("not made within its signer's id-RSASSA-PSS key parameters");
    if (rc < 0) return std::string("not verifiable: ") + gnutls_strerror(rc);
    return ocsp_verify_reasons(verify);
}

std::string serial_hex(const Certificate& c)
{
    std::array<unsigned char, 64> s{};
    std::size_t n = s.size();
    if (gnutls_x509_crt_get_serial(c.get(), s.data(), &n) < 0) return {};
    return to_hex(ByteView(s.data(), n));
}

// Whether single response `index` is about `cert` of `issuer`: its CertID's hash algorithm
// (SHA-1 or SHA-2), issuer name hash, issuer KEY hash and serial all equal what GnuTLS computes
// for the pair. gnutls_ocsp_resp_check_crt (3.7.9) compares the name hash and the serial only,
// so a response about a certificate of another CA of the same name with the same serial (a key
// rollover's other key, a look-alike CA whose certificates the responder also answers for)
// would count for ours.
bool about_certificate(gnutls_ocsp_resp_t resp, unsigned index, const Certificate& cert, const Certificate& issuer)
{
    gnutls_digest_algorithm_t digest = GNUTLS_DIG_UNKNOWN;
    GnutlsDatum name_hash, key_hash, serial;
    if (gnutls_ocsp_resp_get_single(resp, index, &digest, &name_hash.d, &key_hash.d, &serial.d, nullptr, nullptr,
                                    nullptr, nullptr, nullptr) < 0)
        return false;
    if (digest != GNUTLS_DIG_SHA1 && digest != GNUTLS_DIG_SHA256 && digest != GNUTLS_DIG_SHA384 &&
        digest != GNUTLS_DIG_SHA512)
        return false;
    OcspRequest expected;
    if (!expected.ok() || gnutls_ocsp_req_add_cert(expected.get(), digest, issuer.get(), cert.get()) < 0) return false;
    gnutls_digest_algorithm_t expected_digest = GNUTLS_DIG_UNKNOWN;
    GnutlsDatum expected_name, expected_key, expected_serial;
    if (gnutls_ocsp_req_get_cert_id(expected.get(), 0, &expected_digest, &expected_name.d, &expected_key.d,
                                 &expected_serial.d) < 0)
        return false;
    return expected_digest == digest && !name_hash.bytes().empty() && name_hash.bytes() == expected_name.bytes() &&
           !key_hash.bytes().empty() && key_hash.bytes() == expected_key.bytes() &&
           serial.bytes() == expected_serial.bytes();
}

// Why the response's delegated responder, if it has one, may not speak (RFC 6960 §4.2.2.2):
// its certificate (ocsp_responder.h), then its own revocation status unless it carries
// id-pkix-ocsp-nocheck. nullopt: the issuer signed, or the responder may speak.
std::optional<std::string> delegated_responder_problem(gnutls_ocsp_resp_t resp, const Certificate& issuer,
                                                       std::time_t now, const ResponderStatus& responder_status)
{
    const auto responder = delegated_responder(resp, issuer);
    if (!responder) return std::nullopt;
    const std::string who = "responder certificate '" + printable(facts(*responder).subject) + "'";
    if (auto why = responder_problem(*responder, issuer, now)) return who + " " + *why;
    if (extension_value(*responder, kOidOcspNoCheck)) return std::nullopt;
    if (!responder_status) return who + ": its revocation status cannot be checked (no id-pkix-ocsp-nocheck)";
    const RevocationAnswer a = responder_status(*responder);
    if (a.status == RevocationStatus::Revoked) return who + " revoked (" + a.source + ": " + a.detail + ")";
    if (a.status != RevocationStatus::Good)
        return who + ": revocation status unknown (no id-pkix-ocsp-nocheck): " + a.detail;
    return std::nullopt;
}

RevocationAnswer unknown(std::string detail)
{
    RevocationAnswer a;
    a.detail = std::move(detail);
    return a;
}

}  // namespace

std::vector<std::string> ocsp_urls(const Certificate& cert)
{
    std::vector<std::string> out;
    for (unsigned seq = 0; seq < 16 && out.size() < kMaxUrlsPerCertificate; ++seq) {
        GnutlsDatum uri;
        unsigned critical = 0;
        const int rc = gnutls_x509_crt_get_authority_info_access(cert.get(), seq, GNUTLS_IA_OCSP_URI, &uri.d,
                                                                 &critical);
        if (rc == GNUTLS_E_UNKNOWN_ALGORITHM) continue;  // another access method (caIssuers)
        if (rc < 0) break;
        std::string url(reinterpret_cast<const char*>(uri.d.data), uri.d.size);
        if (is_fetchable_url(url)) out.push_back(std::move(url));
    }
    return out;
}

OcspClient::OcspClient(std::shared_ptr<const HttpFetcher> fetcher, OnlineRevocationConfig config,
                       std::shared_ptr<OcspCache> cache)
    : m_fetcher(std::move(fetcher)), m_config(std::move(config)),
      m_cache(cache ? std::move(cache) : std::make_shared<OcspCache>())
{
}

RevocationAnswer OcspClient::check(const Certificate& cert, const Certificate& issuer, std::time_t now,
                                   const ResponderStatus& responder_status, const RevocationBudget* budget) const
{
    const auto urls = ocsp_urls(cert);
    if (urls.empty()) return unknown("no OCSP responder");
    const std::string key = key_id_hex(issuer) + ":" + serial_hex(cert);
    if (auto hit = m_cache->answers.find(key, now)) {
        hit->from_cache = true;
        return *hit;
    }
    std::string why;
    for (const auto& url : urls) {
        if (m_cache->failed.find(url, now)) {
            why += (why.empty() ? "" : "; ") + ("OCSP " + url + ": no answer recently");
            continue;
        }
        std::time_t expires = -1;
        RevocationAnswer a = ask(url, cert, issuer, now, responder_status, budget, expires);
        if (a.status != RevocationStatus::Unknown) {
            if (expires != -1) m_cache->answers.put(key, a, expires, m_config.max_cache_entries);
            return a;
        }
        why += (why.empty() ? "" : "; ") + a.detail;
    }
    return unknown(why);
}

RevocationAnswer OcspClient::ask(const std::string& url, const Certificate& cert, const Certificate& issuer,
                                 std::time_t now, const ResponderStatus& responder_status,
                                 const RevocationBudget* budget, std::time_t& expires) const
{
    const std::string where = "OCSP " + url;
    OcspRequest req;
    if (!req.ok() || gnutls_ocsp_req_add_cert(req.get(), GNUTLS_DIG_SHA1, issuer.get(), cert.get()) < 0)
        return unknown(where + ": cannot build a request");
    if (m_config.ocsp_nonce && gnutls_ocsp_req_randomize_nonce(req.get()) < 0)
        return unknown(where + ": cannot make a nonce");
    GnutlsDatum req_der;
    if (gnutls_ocsp_req_export(req.get(), &req_der.d) < 0) return unknown(where + ": cannot encode the request");

    if (budget && budget->spent()) return unknown(where + ": not asked, " + kBudgetSpent);
    const bool cut = budget && budget->cuts(m_config.limits);
    auto body = m_fetcher->post(url, "application/ocsp-request", req_der.view(),
                                budget ? budget->cut(m_config.limits) : m_config.limits);
    if (!body) {
        // A request the budget cut short says nothing about its responder.
        if (cut) return unknown(where + ": no answer, " + kBudgetSpent);
        if (m_config.failure_retry_after > 0)
            m_cache->failed.put(url, true, now + m_config.failure_retry_after, m_config.max_cache_entries);
        return unknown(where + ": no answer");
    }
    OcspResponse resp;
    const gnutls_datum_t d{body->data(), static_cast<unsigned>(body->size())};
    if (!resp.ok() || gnutls_ocsp_resp_import(resp.get(), &d) < 0) return unknown(where + ": unreadable response");
    if (gnutls_ocsp_resp_get_status(resp.get()) != GNUTLS_OCSP_RESP_SUCCESSFUL)
        return unknown(where + ": responder refused (status " +
                       std::to_string(gnutls_ocsp_resp_get_status(resp.get())) + ")");
    if (auto why = signature_problem(resp.get(), issuer))
        return unknown(where + ": response signature not accepted (" + *why + ")");
    if (m_config.ocsp_nonce) {
        GnutlsDatum sent, got;
        unsigned critical = 0;
        const int rc = gnutls_ocsp_resp_get_nonce(resp.get(), &critical, &got.d);
        // A responder may answer from a pre-signed cache without the nonce (RFC 5019); one that
        // echoes a different nonce is answering someone else.
        if (rc >= 0 && (gnutls_ocsp_req_get_nonce(req.get(), &critical, &sent.d) < 0 || sent.bytes() != got.bytes()))
            return unknown(where + ": nonce mismatch");
    }
    for (unsigned i = 0; i < 64; ++i) {
        const int match = gnutls_ocsp_resp_check_crt(resp.get(), i, cert.get());
        if (match == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) break;
        if (match < 0 || !about_certificate(resp.get(), i, cert, issuer)) continue;
        unsigned status = 0, reason = 0;
        std::time_t this_update = -1, next_update = -1, revoked_at = -1;
        if (gnutls_ocsp_resp_get_single(resp.get(), i, nullptr, nullptr, nullptr, nullptr, &status, &this_update,
                                        &next_update, &revoked_at, &reason) < 0)
            return unknown(where + ": unreadable single response");
        if (this_update == -1 || this_update > now + m_config.clock_skew)
            return unknown(where + ": response thisUpdate is in the future");
        if (next_update != -1 && next_update + m_config.clock_skew < now)
            return unknown(where + ": response is stale (nextUpdate " + format_time(next_update) + ")");
        const std::time_t too_old = counts_until(this_update, next_update, m_config) + m_config.clock_skew;
        if (next_update == -1 && too_old < now)
            return unknown(where + ": response without nextUpdate is too old (thisUpdate " +
                           format_time(this_update) + ")");
        if (status != GNUTLS_OCSP_CERT_GOOD && status != GNUTLS_OCSP_CERT_REVOKED)
            return unknown(where + ": responder does not know the certificate");
        if (auto why = delegated_responder_problem(resp.get(), issuer, now, responder_status))
            return unknown(where + ": " + *why);
        RevocationAnswer a;
        a.source = where;
        a.status = status == GNUTLS_OCSP_CERT_GOOD ? RevocationStatus::Good : RevocationStatus::Revoked;
        if (a.status == RevocationStatus::Revoked)
            a.detail = "revoked " + format_time(revoked_at) + " reason " + std::to_string(reason);
        expires = next_update != -1 ? next_update
                  : m_config.cache_without_next_update > 0
                      ? std::min(now + m_config.cache_without_next_update, too_old)
                      : -1;
        return a;
    }
    return unknown(where + ": response is about another certificate");
}

}  // namespace ssm::pki
