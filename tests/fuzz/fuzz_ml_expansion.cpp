// libFuzzer target for the ESS mlExpansionHistory parser of smime/cms/ml_expansion (a signed
// attribute of any signature arriving at a mail-list address, PRODUCT §4.3). Findings beyond
// crashes and leaks: an exception other than ssm::Error, a history of more than 64 entries
// accepted, and a broken round trip — a decoded history that our encoder accepts must decode
// from that encoding to an equal value (the decoder takes BER, so bytes may differ).
// Build: tests/fuzz/build.sh OUTDIR fuzz_ml_expansion (see tests/fuzz/README.md).
#include <cstdint>
#include <cstdlib>

#include "base/error.h"
#include "smime/cms/ml_expansion.h"

using namespace ssm;
using namespace ssm::smime;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    cms::MlExpansionHistory h;
    try {
        h = cms::decode_ml_expansion_history(ByteView(data, size));
    } catch (const Error&) {
        return 0;
    }
    if (h.empty() || h.size() > cms::kMaxMlExpansionHistory) std::abort();
    Bytes der;
    try {
        der = cms::encode_ml_expansion_history(h);
    } catch (const Error&) {
        // Only a policy whose names were all of other forms may be refused.
        for (const auto& d : h)
            if ((d.policy == cms::MlReceiptPolicyKind::InsteadOf || d.policy == cms::MlReceiptPolicyKind::InAdditionTo) &&
                d.names.empty())
                return 0;
        std::abort();
    }
    auto again = cms::decode_ml_expansion_history(der);
    for (auto& d : h) d.other_names = 0;  // the encoder writes rfc822Names only
    if (!(again == h)) std::abort();
    return 0;
}
