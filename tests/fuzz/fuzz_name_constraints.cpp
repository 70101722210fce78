// libFuzzer target for the name-constraint readers and matching of pki/ (general_names.h,
// name_match.h, name_constraints.h): a certificate's names and a CA's nameConstraints read from
// DER, each name matched against each subtree of its form, and the path walk over a two-link
// chain. Input: two DER certificates, the first (the one below) prefixed by its length in two
// octets (big-endian), the second (the CA) the rest. Findings beyond crashes and leaks: an
// exception (the readers report what they cannot read; they never throw), a name form outside
// the CHOICE, a violation naming certificates outside the chain, and a reason with a control
// octet or one outside ASCII (names reach reasons only through printable()).
// Build: tests/fuzz/build.sh OUTDIR fuzz_name_constraints (see tests/fuzz/README.md).
#include <cstdint>
#include <cstdlib>

#include "pki/certificate.h"
#include "pki/general_names.h"
#include "pki/name_constraints.h"
#include "pki/name_match.h"

using namespace ssm;
using namespace ssm::pki;

namespace {

void check_form(const GeneralName& n)
{
    if (static_cast<unsigned>(n.form) > static_cast<unsigned>(NameForm::RegisteredId)) std::abort();
    if (name_form_text(n.form).empty()) std::abort();
}

void check_reason(const std::string& rule)
{
    for (const char c : rule) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u >= 0x7f) std::abort();
    }
}

void check(const std::uint8_t* data, std::size_t size)
{
    if (size < 2) return;
    const std::size_t first = (std::size_t{data[0]} << 8) | data[1];
    if (first > size - 2) return;
    const auto below = Certificate::parse_der(ByteView(data + 2, first));
    const auto ca = Certificate::parse_der(ByteView(data + 2 + first, size - 2 - first));
    const auto names = below ? certificate_names(*below) : std::nullopt;
    const auto subtrees = ca ? name_subtrees(*ca) : std::nullopt;
    if (names)
        for (const auto& n : *names) check_form(n);
    if (subtrees) {
        for (const auto* list : {&subtrees->permitted, &subtrees->excluded})
            for (const auto& s : *list) {
                check_form(s);
                if (!names) continue;
                for (const auto& n : *names) {
                    if (n.form != s.form) continue;
                    const Match m = in_subtree(n, s, list == &subtrees->excluded);
                    if (m != Match::In && m != Match::Out && m != Match::Unreadable) std::abort();
                }
            }
    }
    if (below && ca) {
        const std::vector<const Certificate*> chain{&*below, &*ca};
        if (const auto v = check_name_constraints(chain)) {
            if (v->certificate >= v->ca || v->ca >= chain.size()) std::abort();
            check_reason(v->rule);
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    try {
        check(data, size);
    } catch (...) {
        std::abort();
    }
    return 0;
}
