// A partner's inbound requirements (PRODUCT §3.5: require_signature, require_encryption,
// require_integrity, on_missing) measured against what the inbound step found in one message.
// One decision for a message's recipients and for each member of a mail list (§4.3), whose
// own rule holds for it beside the list's. Input: treatments from the configuration and
// facts the inbound step established (no message bytes are read here).
#pragma once
#include <string>

#include "policy/treatment.h"

namespace ssm::policy {

// What the inbound step found in one received message.
struct ReceivedProtection {
    bool signature_passed = false;  // a signer of some signature layer passed
    bool decrypted = false;         // the gateway removed an encryption addressed to it
    // What was decrypted is protected neither by AuthEnvelopedData nor by a signature that
    // passed inside the encryption (CBC can be altered by whoever captured it, EFAIL).
    bool unprotected = false;
};

struct RequirementCheck {
    // What `t` requires that the message lacks, worded for the reply and the X-SSM-Policy tag
    // ("a valid S/MIME signature and encryption"); empty: nothing is missing.
    std::string missing;
    bool refuse = false;  // something is missing and the rule's on_missing is reject
};
RequirementCheck check_requirements(const Treatment& t, const ReceivedProtection& p);

// The stricter revocation checking of two rules; Default stands for `configured` ([pki]
// revocation), and is kept when it is the stricter.
RevocationMode stricter_revocation(RevocationMode a, RevocationMode b, RevocationMode configured);

// Signers are validated once per message: `shared` is made to meet `other`'s rule too (every
// required policy of both, the stricter revocation checking), as for one message to several
// recipients. The require_* flags and on_missing are not touched: each rule judges them for
// its own recipient (check_requirements).
void widen_signer_validation(Treatment& shared, const Treatment& other, RevocationMode configured);

}  // namespace ssm::policy
