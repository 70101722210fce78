// libFuzzer target for policy/recipient_delimiter.h: the cut of an address extension decides
// which rules hold for an address and, when the address has no certificate of its own, whose
// certificate it is encrypted to (milter/certificates.h), so a wrong cut encrypts to another
// person. Findings: a crash, a leak, or a base that is in another domain, is the address
// itself, has an empty local part, does not parse again from its own spelling, or has an
// extension of its own (Postfix cuts at the first delimiter: one cut gives the mailbox).
// Input: the delimiter characters, a newline, then the address (both untrusted here; the
// delimiters are configuration in the product, checked by RecipientDelimiter::parse).
// Build: tests/fuzz/build.sh OUTDIR fuzz_recipient_delimiter (see tests/fuzz/README.md).
#include <cstdint>
#include <cstdlib>
#include <string>

#include "base/email_address.h"
#include "policy/recipient_delimiter.h"

namespace {

void require(bool ok)
{
    if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    const std::string input(reinterpret_cast<const char*>(data), size);
    const auto newline = input.find('\n');
    if (newline == std::string::npos) return 0;
    const auto delimiter = ssm::policy::RecipientDelimiter::parse(input.substr(0, newline));
    const auto address = ssm::EmailAddress::parse(input.substr(newline + 1));
    if (!delimiter || !address) return 0;
    const auto base = delimiter->base_of(*address);
    if (!base) return 0;
    require(base->domain() == address->domain());
    require(!base->same_as(*address));
    require(!base->local_part().empty());
    const auto again = ssm::EmailAddress::parse(base->str());
    require(again && again->same_as(*base));
    require(!delimiter->base_of(*base));
    return 0;
}
