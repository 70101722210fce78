// libFuzzer target for the ESS security-label parsers: smime/cms/security_label (DER
// ESSSecurityLabel and EquivalentLabels, as found in a peer's signed attributes) and
// smime/mime/sio_label (the SIO-Label header field a MUA or a peer writes). The first byte
// picks the parser (0: ESSSecurityLabel, 1: EquivalentLabels, 2: SIO-Label value, 3: a SET OF
// Attribute searched for both label attributes); the rest is its input. Findings beyond crashes
// and leaks: an exception other than ssm::Error, and any broken round trip — what decodes must
// encode to the very same DER (the decoders accept DER only) and decode again to an equal
// value; a parsed SIO-Label must format, and the formatted value parse to an equal label.
// Build: tests/fuzz/build.sh OUTDIR fuzz_security_label (see tests/fuzz/README.md).
#include <cstdint>
#include <cstdlib>
#include <string>

#include "base/error.h"
#include "smime/cms/security_label.h"
#include "smime/mime/sio_label.h"

using namespace ssm;
using namespace ssm::smime;

namespace {

void same(ByteView a, ByteView b)
{
    if (a.size() != b.size() || !std::equal(a.begin(), a.end(), b.begin())) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size < 1) return 0;
    const ByteView in(data + 1, size - 1);
    switch (data[0] % 4) {
    case 0: {
        cms::SecurityLabel l;
        try {
            l = cms::decode_security_label(in);
        } catch (const Error&) {
            return 0;
        }
        const Bytes der = cms::encode_security_label(l);  // must not throw: it decoded
        same(der, in);
        if (!(cms::decode_security_label(der) == l)) std::abort();
        break;
    }
    case 1: {
        std::vector<cms::SecurityLabel> ls;
        try {
            ls = cms::decode_equivalent_labels(in);
        } catch (const Error&) {
            return 0;
        }
        const Bytes der = cms::encode_equivalent_labels(ls);
        same(der, in);
        if (!(cms::decode_equivalent_labels(der) == ls)) std::abort();
        break;
    }
    case 2: {
        mime::SioLabel l;
        try {
            l = mime::parse_sio_label(as_chars(in));
        } catch (const Error&) {
            return 0;
        }
        const std::string text = mime::format_sio_label(l);
        // Our own output must stay one header field: every line break is a fold.
        for (std::size_t i = 0; i < text.size(); ++i) {
            if (text[i] == '\r' && text.compare(i, 3, "\r\n\t") != 0) std::abort();
            if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) std::abort();
        }
        if (!(mime::parse_sio_label(text) == l)) std::abort();
        if (l.type == mime::SioLabelType::Ess && !l.ess) std::abort();
        break;
    }
    default: {
        cms::LabelAttributes a;
        try {
            a = cms::find_label_attributes(in);
        } catch (const Error&) {
            return 0;
        }
        if (a.security_label) (void)cms::encode_security_label(*a.security_label);
        if (a.equivalent_labels) (void)cms::encode_equivalent_labels(*a.equivalent_labels);
        break;
    }
    }
    return 0;
}
