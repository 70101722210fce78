// Inbound requirements against a received message (see inbound_requirements.h). Pure.
#include "policy/inbound_requirements.h"

#include <algorithm>

namespace ssm::policy {

RequirementCheck check_requirements(const Treatment& t, const ReceivedProtection& p)
{
    RequirementCheck out;
    const auto add = [&out](const char* what) {
        out.missing += std::string(out.missing.empty() ? "" : " and ") + what;
    };
    if (t.require_signature && !p.signature_passed) add("a valid S/MIME signature");
    if (t.require_encryption && !p.decrypted) add("encryption");
    // Only what the gateway decrypted: unencrypted mail is require_encryption's concern. A
    // signature outside the encryption does not count (anyone can sign an altered ciphertext).
    if (t.require_integrity && p.decrypted && p.unprotected)
        add("integrity-protected encryption (AuthEnvelopedData or a signature inside)");
    out.refuse = !out.missing.empty() && t.on_missing == OnMissing::Reject;
    return out;
}

RevocationMode stricter_revocation(RevocationMode a, RevocationMode b, RevocationMode configured)
{
    const auto strength = [configured](RevocationMode m) {
        if (m == RevocationMode::Default) m = configured;
        return m == RevocationMode::HardFail ? 2 : m == RevocationMode::SoftFail ? 1 : 0;
    };
    if (a == b) return a;
    return strength(a) >= strength(b) ? a : b;
}

void widen_signer_validation(Treatment& shared, const Treatment& other, RevocationMode configured)
{
    for (const auto& p : other.required_policies)
        if (std::find(shared.required_policies.begin(), shared.required_policies.end(), p) ==
            shared.required_policies.end())
            shared.required_policies.push_back(p);
    shared.revocation = stricter_revocation(shared.revocation, other.revocation, configured);
}

}  // namespace ssm::policy
