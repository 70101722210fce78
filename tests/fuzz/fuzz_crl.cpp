// libFuzzer target for the CRL readers of pki/ (the DER GnuTLS 3.7 gives no API for): a CRL's
// scope and extensions (crl_scope_of: issuingDistributionPoint, deltaCRLIndicator, cRLNumber,
// critical extensions), its entries with their extensions (read_crl_entries: reasonCode,
// certificateIssuer runs), and a certificate's cRLDistributionPoints as crl_covered_reasons
// reads them. The first byte picks the input: even, a CRL (DER); odd, a certificate (DER),
// checked against the scope of a CRL with an issuingDistributionPoint naming a URI and a
// relative name. Findings beyond crashes and leaks: an exception (the readers never throw),
// entries that are not sorted by serial, a run index beyond the issuers, reasons beyond the
// nine of RFC 5280, and a CRL number comparison that is not antisymmetric. The Names read on the
// way (the CRL's issuer, its entries' certificate issuers, a certificate's issuer and subject)
// go through base/name_compare.h, which pki/ compares issuer names with: a Name is the same as
// itself, same_name is symmetric and agrees with comparable_name's keys.
// Build: tests/fuzz/build.sh OUTDIR fuzz_crl (see tests/fuzz/README.md).
#include <gnutls/x509.h>

#include <cstdint>
#include <cstdlib>

#include "base/name_compare.h"
#include "pki/certificate.h"
#include "pki/crl_entries.h"
#include "pki/crl_scope.h"

using namespace ssm;
using namespace ssm::pki;

namespace {

void check_names(ByteView a, ByteView b)
{
    if (!same_name(a, a) || !same_name(b, b)) std::abort();
    const bool same = same_name(a, b);
    if (same != same_name(b, a)) std::abort();
    if (same != (comparable_name(a) == comparable_name(b))) std::abort();
}

void check_crl(const std::uint8_t* data, std::size_t size)
{
    gnutls_x509_crl_t crl = nullptr;
    if (gnutls_x509_crl_init(&crl) < 0) std::abort();
    const gnutls_datum_t d{const_cast<std::uint8_t*>(data), static_cast<unsigned>(size)};
    if (gnutls_x509_crl_import(crl, &d, GNUTLS_X509_FMT_DER) >= 0) {
        const CrlScope scope = crl_scope_of(crl);
        if ((scope.reasons & ~kAllReasons) != 0) std::abort();
        if (scope.delta_base && scope.crl_number) {
            const int ab = compare_crl_numbers(*scope.delta_base, *scope.crl_number);
            const int ba = compare_crl_numbers(*scope.crl_number, *scope.delta_base);
            if ((ab < 0) != (ba > 0) || (ab == 0) != (ba == 0)) std::abort();
        }
        if (!scope.same_scope_as(scope)) std::abort();
        if (const auto entries = read_crl_entries(crl)) {
            for (const auto& issuer : entries->issuers) check_names(issuer.der, entries->issuers.front().der);
            for (std::size_t i = 0; i < entries->entries.size(); ++i) {
                if (entries->entries[i].issuer >= entries->issuers.size()) std::abort();
                if (i > 0 && entries->entries[i].serial < entries->entries[i - 1].serial) std::abort();
            }
        }
    }
    gnutls_x509_crl_deinit(crl);
}

void check_certificate(const std::uint8_t* data, std::size_t size)
{
    const auto cert = Certificate::parse_der(ByteView(data, size));
    if (!cert) return;
    CrlScope scope;
    scope.names_point = true;
    scope.distribution_point_names = {"uri:http://crl.example/ca.crl"};
    static const Bytes issuer = {0x30, 0x0d, 0x31, 0x0b, 0x30, 0x09, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x02, 'C', 'A'};
    const unsigned reasons = crl_covered_reasons(scope, issuer, *cert);
    if ((reasons & ~kAllReasons) != 0) std::abort();
    CrlScope every;  // no IDP: the issuer's CRL for all its certificates
    if ((crl_covered_reasons(every, issuer, *cert) & ~kAllReasons) != 0) std::abort();
    const CertificateFacts f = facts(*cert);
    check_names(f.issuer_der, f.subject_der);
    check_names(f.issuer_der, issuer);
    if (is_self_issued(*cert) != same_name(f.issuer_der, f.subject_der)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size < 1) return 0;
    try {
        if (data[0] % 2 == 0) check_crl(data + 1, size - 1);
        else check_certificate(data + 1, size - 1);
    } catch (...) {
        std::abort();  // the readers report what they cannot read; they never throw
    }
    return 0;
}
