// libFuzzer target for smime/cms/ decoders: the first byte picks what the rest is decoded
// as (ContentInfo→SignedData with every accessor, a cms.asn type, or a DER header). Checks
// that hostile input either decodes or throws ssm::Error, never crashes or leaks, and that
// what decodes keeps the invariants the verifier relies on.
// Build: tests/fuzz/build.sh OUTDIR fuzz_cms (see tests/fuzz/README.md).
// Seeds: DER from `openssl cms -sign/-encrypt` (plain and -stream) and from test_cms.
#include <cstdint>
#include <cstdlib>

#include "base/error.h"
#include "smime/cms/asn1.h"
#include "smime/cms/decode.h"
#include "smime/cms/der_length.h"

using namespace ssm;
using namespace ssm::smime::cms;

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
            Asn1Node n = Asn1Node::decode(type, in);
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
