// Delegated OCSP responders (see ocsp_responder.h). SECURITY: the response's certificates are
// untrusted; a responder speaks only when it passes every check here and those of the caller
// (its own revocation status, pki/ocsp_client.cpp).
#include "pki/ocsp_responder.h"

#include <algorithm>

#include "base/gnutls_datum.h"
#include "base/gnutls_handles.h"
#include "base/name_compare.h"
#include "pki/certificate_signature.h"

namespace ssm::pki {

namespace {

using OcspRequest = GnutlsOwned<gnutls_ocsp_req_t, gnutls_ocsp_req_init, gnutls_ocsp_req_deinit>;

constexpr const char* kOidOcspSigning = "1.3.6.1.5.5.7.3.9";

// The certificates a response carries, owned (gnutls_ocsp_resp_get_certs allocates each).
std::vector<Certificate> response_certificates(gnutls_ocsp_resp_t resp)
{
    gnutls_x509_crt_t* certs = nullptr;
    std::size_t n = 0;
    std::vector<Certificate> out;
    if (gnutls_ocsp_resp_get_certs(resp, &certs, &n) < 0) return out;
    for (std::size_t i = 0; i < n; ++i) {
        GnutlsDatum der;
        if (gnutls_x509_crt_export2(certs[i], GNUTLS_X509_FMT_DER, &der.d) >= 0)
            if (auto c = Certificate::parse_der(der.view())) out.push_back(std::move(*c));
        gnutls_x509_crt_deinit(certs[i]);
    }
    gnutls_free(certs);
    return out;
}

// SHA-1 over the value of the certificate's subjectPublicKey BIT STRING (RFC 6960 KeyHash), as
// GnuTLS computes a CertID's issuerKeyHash: the certificate posing as its own issuer.
Bytes sha1_key_hash(const Certificate& c)
{
    OcspRequest req;
    if (!req.ok() || gnutls_ocsp_req_add_cert(req.get(), GNUTLS_DIG_SHA1, c.get(), c.get()) < 0) return {};
    GnutlsDatum key_hash;
    if (gnutls_ocsp_req_get_cert_id(req.get(), 0, nullptr, nullptr, &key_hash.d, nullptr) < 0) return {};
    return key_hash.bytes();
}

}  // namespace

std::optional<Certificate> delegated_responder(gnutls_ocsp_resp_t resp, const Certificate& issuer)
{
    GnutlsDatum by_name, by_key;
    const bool named = gnutls_ocsp_resp_get_responder_raw_id(resp, GNUTLS_OCSP_RESP_ID_DN, &by_name.d) >= 0;
    if (!named && gnutls_ocsp_resp_get_responder_raw_id(resp, GNUTLS_OCSP_RESP_ID_KEY, &by_key.d) < 0)
        return std::nullopt;
    const Bytes name = by_name.bytes(), key = by_key.bytes();
    for (Certificate& c : response_certificates(resp)) {
        const CertificateFacts f = facts(c);
        // By name as RFC 5280 §7.1 compares Names: GnuTLS finds it by the bytes only.
        const bool match = named ? !name.empty() && same_name(f.subject_der, name)
                                 : !key.empty() && ((f.subject_key_identifier && *f.subject_key_identifier == key) ||
                                                    sha1_key_hash(c) == key);
        if (!match) continue;
        if (same_certificate(c, issuer)) return std::nullopt;
        return std::move(c);
    }
    return std::nullopt;
}

std::optional<std::string> responder_problem(const Certificate& responder, const Certificate& issuer,
                                             std::time_t now)
{
    const CertificateFacts f = facts(responder);
    if (now < f.not_before) return "not valid before " + format_time(f.not_before);
    if (now > f.not_after) return "expired " + format_time(f.not_after);
    const auto& eku = f.extended_key_usage;
    if (!eku || std::find(eku->begin(), eku->end(), kOidOcspSigning) == eku->end())
        return "lacks the OCSPSigning extended key usage";
    // signed_by: the responder's issuer Name is the issuer's subject Name (byte for byte, or as
    // RFC 5280 §7.1 compares them) and the issuer's key verifies its signature.
    if (!signed_by(responder, issuer)) return "is not issued by the certificate's issuer";
    return std::nullopt;
}

}  // namespace ssm::pki
