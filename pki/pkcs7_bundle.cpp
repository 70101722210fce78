// PKCS#7 certificate bundles through GnuTLS (gnutls_pkcs7_*): no parser of our own.
#include "pki/pkcs7_bundle.h"

#include <gnutls/pkcs7.h>

#include "base/gnutls_datum.h"

namespace ssm::pki {

namespace {

struct Pkcs7 {
    gnutls_pkcs7_t p = nullptr;
    Pkcs7() { gnutls_pkcs7_init(&p); }
    ~Pkcs7() { gnutls_pkcs7_deinit(p); }
    Pkcs7(const Pkcs7&) = delete;
    Pkcs7& operator=(const Pkcs7&) = delete;
};

}  // namespace

std::optional<std::vector<Bytes>> pkcs7_certificates(ByteView data, BundleEncoding encoding, std::size_t max)
{
    Pkcs7 p7;
    if (!p7.p) return std::nullopt;
    const gnutls_datum_t in = datum_view(data);
    const auto format = encoding == BundleEncoding::Pem ? GNUTLS_X509_FMT_PEM : GNUTLS_X509_FMT_DER;
    if (gnutls_pkcs7_import(p7.p, &in, format) < 0) return std::nullopt;
    const int count = gnutls_pkcs7_get_crt_count(p7.p);
    if (count < 0) return std::nullopt;
    std::vector<Bytes> out;
    for (int i = 0; i < count && out.size() < max; ++i) {
        GnutlsDatum crt;  // gnutls_pkcs7_get_crt_raw2 allocates: freed by the owner
        if (gnutls_pkcs7_get_crt_raw2(p7.p, static_cast<unsigned>(i), &crt.d) < 0) return std::nullopt;
        out.push_back(crt.bytes());
    }
    return out;
}

}  // namespace ssm::pki
