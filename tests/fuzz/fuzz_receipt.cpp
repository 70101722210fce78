// libFuzzer target for the ESS signed-receipt parsers of smime/cms/receipt: ReceiptRequest
// (a peer's signed attribute asking us for receipts), Receipt (the content of a signed receipt
// a peer returns) and the msgSigDigest attribute value. The first byte picks the parser (0:
// ReceiptRequest, 1: Receipt, 2: msgSigDigest); the rest is its input. Findings beyond crashes
// and leaks: an exception other than ssm::Error, and a broken round trip — a decoded request
// or receipt that our encoder accepts must decode from that encoding to an equal value (the
// decoders take BER, so the encoding itself may differ from the input).
// Build: tests/fuzz/build.sh OUTDIR fuzz_receipt (see tests/fuzz/README.md).
#include <cstdint>
#include <cstdlib>

#include "base/error.h"
#include "smime/cms/receipt.h"

using namespace ssm;
using namespace ssm::smime;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size < 1) return 0;
    const ByteView in(data + 1, size - 1);
    switch (data[0] % 3) {
    case 0: {
        cms::ReceiptRequest r;
        try {
            r = cms::decode_receipt_request(in);
        } catch (const Error&) {
            return 0;
        }
        Bytes der;
        try {
            der = cms::encode_receipt_request(r);
        } catch (const Error&) {
            // Only a request whose names were all of other forms may be refused: it decoded
            // with nobody to send a receipt to, or an empty receipt list.
            if (r.receipts_to.empty() || (r.from == cms::ReceiptsFrom::List && r.from_list.empty())) return 0;
            std::abort();
        }
        cms::ReceiptRequest again = cms::decode_receipt_request(der);
        r.other_names = 0;  // the encoder writes rfc822Names only
        if (!(again == r)) std::abort();
        break;
    }
    case 1: {
        cms::Receipt r;
        try {
            r = cms::decode_receipt(in);
        } catch (const Error&) {
            return 0;
        }
        if (!(cms::decode_receipt(cms::encode_receipt(r)) == r)) std::abort();
        break;
    }
    default: {
        try {
            const Bytes d = cms::decode_msg_sig_digest_value(in);
            if (cms::decode_msg_sig_digest_value(cms::msg_sig_digest_value(d)) != d) std::abort();
        } catch (const Error&) {
            return 0;
        }
        break;
    }
    }
    return 0;
}
