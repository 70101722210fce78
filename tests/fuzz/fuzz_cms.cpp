// libFuzzer target for smime/cms/ decoders: the first byte picks what the rest is decoded
// as (ContentInfo→SignedData with every accessor, a cms.asn type, or a DER header). Checks
// that hostile input either decodes or throws ssm::Error, never crashes or leaks, and that
// what decodes keeps the invariants the verifier relies on.
// Build: tests/fuzz/build.sh OUTDIR fuzz_cms (see tests/fuzz/README.md).
// Seeds: DER from `openssl cms -sign/-encrypt` (plain and -stream) and from test_cms.
// RSASSA-PSS-params also go through base/rsa_pss_params.h, differentially (case 1).
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string_view>

#include "base/error.h"
#include "base/rsa_pss_params.h"
#include "smime/cms/asn1.h"
#include "smime/cms/decode.h"
#include "smime/cms/der_length.h"

using namespace ssm;
using namespace ssm::smime::cms;

namespace {

bool allowed_pss_hash(gnutls_digest_algorithm_t h)
{
    return h == GNUTLS_DIG_SHA1 || h == GNUTLS_DIG_SHA256 || h == GNUTLS_DIG_SHA384 || h == GNUTLS_DIG_SHA512;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size < 1) return 0;
    const ByteView in(data + 1, size - 1);
    // The security label in its DER-ordered form, as security_label.cpp uses it: re-encoding
    // the plain SET makes libtasn1 4.19 reorder it with an overlapping memcpy (an ASan
    // report in libtasn1, not in our code; regress-set-reorder-overlap in the corpus).
    static const char* const kTypes[] = {"EnvelopedData", "AuthEnvelopedData", "ReceiptRequest",
                                         "SigningCertificateV2", "ESSSecurityLabelInDerOrder",
                                         "MLExpansionHistory", "SMIMECapabilities",
                                         "RSASSA-PSS-params", "Receipt"};
    try {
        switch (data[0] % 3) {
        case 0: {
            const SignedDataView sd = decode_signed_content_info(in);
            for (const auto& si : sd.signers) {
                if (!si.signed_attributes.empty() &&
                    (si.signed_attributes_der.empty() || si.signed_attributes_der[0] != 0x31))
                    std::abort();  // the verifier hashes exactly these bytes
                for (const auto& a : si.signed_attributes)
                    if (a.oid.empty()) std::abort();
            }
            break;
        }
        case 1: {
            const char* type = kTypes[(data[0] / 3) % (sizeof kTypes / sizeof *kTypes)];
            // RSASSA-PSS-params: our own bounded reader (base/rsa_pss_params.h, what pki/ and
            // the verifier use) is stricter than libtasn1's decoder, never looser: what it
            // takes, libtasn1 must decode too, and the values must be ones it allows.
            std::optional<RsaPssParams> ours;
            if (std::string_view(type) == "RSASSA-PSS-params") {
                RsaPssRefusal why;
                ours = read_rsa_pss_params(in, why);
                if (ours && (ours->salt > 4096 || !allowed_pss_hash(ours->hash) || !allowed_pss_hash(ours->mask)))
                    std::abort();
            }
            Asn1Node n = [&] {
                try {
                    return Asn1Node::decode(type, in);
                } catch (const Error&) {
                    if (ours) std::abort();  // ours took what libtasn1 refuses
                    throw;
                }
            }();
            (void)n.encode();  // re-encoding what decoded must work
            break;
        }
        default: {
            const DerHeader h = parse_der_header(in);
            if (h.header_size != der_header_size(h.length)) std::abort();  // minimal form only
            break;
        }
        }
    } catch (const Error&) {
        // Rejected input: the expected outcome for most of it.
    }
    return 0;
}
