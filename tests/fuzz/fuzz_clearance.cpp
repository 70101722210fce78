// libFuzzer target for the RFC 5755 Clearance decoder (smime/cms/clearance), whose input is a
// directory server's attribute value. Findings beyond crashes and leaks: an exception other
// than ssm::Error, and a broken round trip — what decodes in the current syntax must encode to
// the very same DER (the decoder accepts DER only) and decode again to an equal value; a
// value in the RFC 3281 syntax must encode (in the current one) and decode to the same grant.
// The same input is also read as a certificate's subjectDirectoryAttributes extension value:
// every clearance found there must encode. And as a CA's Authority Clearance Constraints
// extension value (RFC 5913): what decodes has 1..64 clearances of distinct policies in the
// current syntax, each of which must encode to the very octets it was read from.
// Build: tests/fuzz/build.sh OUTDIR fuzz_clearance (see tests/fuzz/README.md).
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
    try {
        const auto constraints = cms::decode_clearance_constraints(in);
        if (constraints.empty() || constraints.size() > cms::kMaxClearanceConstraints) std::abort();
        std::size_t octets = 0;
        for (std::size_t i = 0; i < constraints.size(); ++i) {
            if (constraints[i].syntax != cms::ClearanceValue::Syntax::Rfc5755) std::abort();
            for (std::size_t j = 0; j < i; ++j)
                if (constraints[j].policy_id == constraints[i].policy_id) std::abort();
            octets += cms::encode_clearance(constraints[i]).size();
        }
        if (octets >= in.size()) std::abort();  // the elements are the SEQUENCE's content, DER
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
