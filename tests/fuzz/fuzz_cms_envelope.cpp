// libFuzzer target for the untrusted inputs of smime/cms/ encryption: the first byte picks
// the decoder — (Auth)EnvelopedData ContentInfo, a recipient certificate (from directories
// or harvested mail), or an SMIMECapabilities value (from a peer's signature). Hostile input
// must decode or throw ssm::Error (parse_smime_capabilities: return empty), never crash or
// leak; what decodes must keep the invariants the encoder and a future decrypter rely on.
// Build: tests/fuzz/build.sh OUTDIR fuzz_cms_envelope (see tests/fuzz/README.md).
// Seeds: DER from `openssl cms -encrypt` (with and without -stream), test_cms_envelope
// output, make-pki.sh certificates (DER), OpenSSL signatures' smimeCapabilities values.
#include <cstdint>
#include <cstdlib>

#include "base/error.h"
#include "smime/cms/enveloped_decode.h"
#include "smime/cms/recipient_key.h"
#include "smime/cms/signed_attributes.h"

using namespace ssm;
using namespace ssm::smime::cms;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size < 1) return 0;
    const ByteView in(data + 1, size - 1);
    try {
        switch (data[0] % 3) {
        case 0: {
            const EnvelopedDataView v = decode_enveloped_content_info(in);
            if (v.recipients.empty()) std::abort();  // the decoder refuses an empty SET
            for (const auto& ri : v.recipients)
                for (const auto& k : ri.keys)
                    if (k.rid.issuer_serial.has_value() == k.rid.subject_key_id.has_value())
                        std::abort();  // exactly one identifier per recipient
            if (v.authenticated != v.mac.has_value()) std::abort();
            break;
        }
        case 1: {
            const RecipientKey k = recipient_key_of(in);
            const std::size_t want = k.type == RecipientKeyType::EcP256   ? 32
                                     : k.type == RecipientKeyType::EcP384 ? 48
                                     : k.type == RecipientKeyType::EcP521 ? 66
                                     : k.type == RecipientKeyType::X25519 ? 32
                                                                          : 0;
            if (want && k.ec_x.size() != want) std::abort();  // key_agreement relies on these sizes
            if (k.type == RecipientKeyType::Rsa && k.rsa_modulus.empty()) std::abort();
            break;
        }
        default:
            for (const auto& oid : parse_smime_capabilities(in))
                if (oid.empty()) std::abort();
            break;
        }
    } catch (const Error&) {
        // Rejected input: the expected outcome for most of it.
    }
    return 0;
}
