// libFuzzer target for the RFC 5755 Clearance decoder (smime/cms/clearance), whose input is a
// directory server's attribute value. Findings beyond crashes and leaks: an exception other
// than ssm::Error, and a broken round trip — what decodes in the current syntax must encode to
// the very same DER (the decoder accepts DER only) and decode again to an equal value; a
// value in the RFC 3281 syntax must encode (in the current one) and decode to the same grant.
// The same input is also read as a certificate's subjectDirectoryAttributes extension value:
// every clearance found there must encode.
// Build: tests/fuzz/build.sh BUILDDIR OUTDIR fuzz_clearance (see tests/fuzz/README.md).
#include <algorithm>
#include <cstdint>
#include <cstdlib>

#include "base/error.h"
#include "smime/cms/clearance.h"

using namespace ssm;
using namespace ssm::smime;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const ByteView in(data, size);
    try {
        for (const auto& v : cms::clearances_in_directory_attributes(in).values) (void)cms::encode_clearance(v);
    } catch (const Error&) {
    }
    cms::ClearanceValue c;
    try {
        c = cms::decode_clearance(in);
    } catch (const Error&) {
        return 0;
    }
    const Bytes der = cms::encode_clearance(c);  // must not throw: it decoded
    cms::ClearanceValue again = cms::decode_clearance(der);
    if (c.syntax == cms::ClearanceValue::Syntax::Rfc5755) {
        if (der.size() != in.size() || !std::equal(der.begin(), der.end(), in.begin())) std::abort();
        if (!(again == c)) std::abort();
    } else {
        if (again.policy_id != c.policy_id || again.classes != c.classes) std::abort();
        // categories keep DER (sorted) order in both syntaxes
        if (again.categories != c.categories) std::abort();
    }
    return 0;
}
